// Face step: the instruction is on the page before Start. Start asks the server for a
// liveness challenge (a head movement and a single-use nonce), shows the movement, opens the
// camera, counts down 3-2-1, captures the frames the challenge asks for while a cue on the
// picture says when to move, uploads them with the nonce and says what happened and what to
// do next. Frames live only in memory for the upload; the camera is released after capture.
(function () {
  "use strict";

  const root = document.getElementById("face-step");
  if (!root) return;

  const byId = function (id) { return document.getElementById(id); };
  let FRAME_COUNT = Number(root.dataset.frames);
  let INTERVAL_MS = 250;
  // Before the first frame: a 3-2-1 countdown on the picture (tests/e2e/camera.py times its
  // fake camera to it).
  const COUNTDOWN_FROM = 3;
  const COUNTDOWN_STEP_MS = 800;
  // Share of the capture after which the cue says to come back to the camera.
  const COME_BACK_AT = 0.55;
  // The preview is mirrored, so the person's left is the screen's left.
  const ARROWS = { turn_left: "←", turn_right: "→", look_up: "↑", look_down: "↓" };
  const MOVES = { turn_left: "turn left", turn_right: "turn right", look_up: "look up",
    look_down: "look down" };
  const WIDTH = 640;
  const HEIGHT = 480;
  const JPEG_QUALITY = 0.9;
  const NEXT_PAGES = {
    enroll_face: "/application/face/enroll",
    verify_face: "/application/face/verify",
    login: "/auth/login",
    enrollment_code: "/application/face/recover",
  };

  const video = byId("preview");
  const camera = byId("camera");
  const oval = byId("oval");
  const ovalReason = byId("oval-reason");
  const countdown = byId("countdown");
  const cue = byId("cue");
  const announcer = byId("announce");
  const startButton = byId("start");
  const signInAgain = byId("sign-in-again");
  const statusBox = byId("status");
  const progress = byId("progress");
  const progressFill = byId("progress-fill");
  const progressText = byId("progress-text");
  const spinner = byId("spinner");
  const result = byId("result");
  const resultMessage = byId("result-message");
  const frameReasons = byId("frame-reasons");
  const captureStep = byId("capture-step");
  const codesPanel = byId("recovery-codes");
  const codeList = byId("recovery-code-list");
  const downloadCodes = byId("download-codes");
  const codesSaved = byId("codes-saved");
  const instruction = byId("instruction");
  const challengeArrow = byId("challenge-arrow");
  const challengeText = byId("challenge-text");
  const heldBox = byId("held");
  const holdCountdown = byId("hold-countdown");
  const triesLeft = byId("tries-left");
  const recoverLink = byId("recover-link");
  const mode = root.dataset.mode;
  const maxAttempts = Number(root.dataset.maxAttempts);
  let holdTimer = null;
  let startLabel = startButton.textContent;

  // The page carries this session's CSRF token (the cookie is HttpOnly).
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function announce(text) {
    announcer.textContent = "";
    // A fresh text node after a tick, so a repeated message is read again.
    setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function showStatus(text, kind) {
    statusBox.textContent = text;
    statusBox.className = "alert " + (kind || "info");
    statusBox.hidden = false;
  }

  function setProgress(done) {
    progress.hidden = false;
    progressFill.style.width = (100 * done / FRAME_COUNT) + "%";
    progressText.textContent = "Picture " + done + " of " + FRAME_COUNT;
  }

  function setOval(state, reason) {
    oval.dataset.state = state || "";
    ovalReason.textContent = reason || "";
    ovalReason.hidden = !reason;
  }

  function showCue(text) {
    cue.textContent = text || "";
    cue.hidden = !text;
  }

  function cameraProblem(error) {
    switch (error && error.name) {
      case "NotAllowedError":
      case "SecurityError":
        return "Camera access was denied. Allow the camera for this site in your browser's " +
          "site settings (the camera icon in the address bar), then reload this page.";
      case "NotFoundError":
      case "OverconstrainedError":
        return "No camera was found. Connect a camera, or use a device that has one, then reload.";
      case "NotReadableError":
        return "The camera is busy in another application. Close it there, then try again.";
      default:
        return "The camera could not be started" + (error && error.message ? ": " + error.message : ".");
    }
  }

  function checkSupport() {
    if (!window.isSecureContext) {
      return "The camera only works on a secure page. Open this site over https " +
        "(or on localhost) and try again.";
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return "This browser cannot use the camera. Try a current Chrome, Firefox, Edge or Safari.";
    }
    return null;
  }

  function stopCamera(stream) {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    video.srcObject = null;
    camera.classList.remove("live");
    showCue("");
    countdown.hidden = true;
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function grabFrame(canvas) {
    const context = canvas.getContext("2d");
    context.drawImage(video, 0, 0, WIDTH, HEIGHT);
    return new Promise(function (resolve, reject) {
      canvas.toBlob(function (blob) {
        if (blob) resolve(blob); else reject(new Error("could not encode a frame"));
      }, "image/jpeg", JPEG_QUALITY);
    });
  }

  async function countDown() {
    countdown.hidden = false;
    for (let number = COUNTDOWN_FROM; number >= 1; number -= 1) {
      countdown.textContent = String(number);
      countdown.dataset.tick = String(number);
      announce(String(number));
      await sleep(COUNTDOWN_STEP_MS);
    }
    countdown.hidden = true;
  }

  async function captureFrames(action) {
    const canvas = document.createElement("canvas");
    canvas.width = WIDTH;
    canvas.height = HEIGHT;
    const frames = [];
    const comeBack = Math.round(FRAME_COUNT * COME_BACK_AT);
    statusBox.hidden = true;
    setProgress(0);
    if (action) {
      showCue("Now " + MOVES[action] + " " + ARROWS[action]);
      announce("Now " + MOVES[action]);
    } else {
      showCue("Now keep still");
    }
    for (let index = 0; index < FRAME_COUNT; index += 1) {
      if (action && index === comeBack) showCue("Now back to the camera");
      frames.push(await grabFrame(canvas));
      setProgress(index + 1);
      if (index + 1 < FRAME_COUNT) await sleep(INTERVAL_MS);
    }
    showCue("");
    return frames;
  }

  function showResult(ok, message, frames) {
    result.hidden = false;
    resultMessage.className = "alert " + (ok ? "success" : "error");
    resultMessage.textContent = message;
    frameReasons.replaceChildren();
    // Per-picture details only help after a failure.
    if (ok) return;
    (frames || []).filter(function (f) { return !f.accepted; }).forEach(function (f) {
      const item = document.createElement("li");
      item.textContent = "Picture " + (f.index + 1) + ": " + f.reason;
      frameReasons.appendChild(item);
    });
  }

  // The most common reason the server gave for turning pictures away, shown in the oval.
  function mainReason(frames) {
    const counts = {};
    let best = null;
    (frames || []).forEach(function (f) {
      if (f.accepted || !f.reason) return;
      counts[f.reason] = (counts[f.reason] || 0) + 1;
      if (best === null || counts[f.reason] > counts[best]) best = f.reason;
    });
    return best;
  }

  function showTriesLeft(left) {
    if (typeof left !== "number" || mode !== "verify" || left >= maxAttempts) return;
    triesLeft.textContent = left + (left === 1 ? " try" : " tries") +
      " left before you must sign in with your password again.";
    triesLeft.hidden = false;
  }

  function formatWait(seconds) {
    if (seconds < 60) return seconds + (seconds === 1 ? " second" : " seconds");
    const minutes = Math.floor(seconds / 60);
    const rest = seconds % 60;
    return minutes + ":" + String(rest).padStart(2, "0") + " minutes";
  }

  // While the account's face step is paused: Start is disabled and the wait counts down.
  function startHold(seconds) {
    if (holdTimer) clearInterval(holdTimer);
    const endsAt = Date.now() + seconds * 1000;
    heldBox.hidden = false;
    startButton.disabled = true;
    announce("The face step is paused for " + formatWait(seconds) + ".");
    function tick() {
      const left = Math.max(0, Math.ceil((endsAt - Date.now()) / 1000));
      holdCountdown.textContent = formatWait(left);
      startButton.textContent = left > 0 ? "Wait " + formatWait(left) : startLabel;
      if (left === 0) {
        clearInterval(holdTimer);
        holdTimer = null;
        heldBox.hidden = true;
        startButton.disabled = false;
        announce("You can try again now.");
      }
    }
    tick();
    holdTimer = setInterval(tick, 1000);
  }

  // The first enrollment returns the recovery codes, shown this once: list them first, offer
  // them as a text file, and go on only when the user says they are saved.
  function showRecoveryCodes(codes, next) {
    codeList.replaceChildren();
    codes.forEach(function (code) {
      const item = document.createElement("li");
      const text = document.createElement("code");
      text.textContent = code;
      item.appendChild(text);
      codeList.appendChild(item);
    });
    const file = new Blob([codes.join("\n") + "\n"], { type: "text/plain" });
    downloadCodes.href = URL.createObjectURL(file);
    codesPanel.hidden = false;
    codesPanel.before(result); // "Your face is enrolled" first, then the codes
    captureStep.hidden = true;
    startButton.hidden = true;
    codesSaved.addEventListener("click", function () { window.location.assign(next); });
    codesPanel.scrollIntoView({ block: "start" });
    codesPanel.focus({ preventScroll: true });
  }

  // The challenge for this capture: {mode, nonce, action, instruction, frames, interval_ms}.
  async function postJson(url) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken() },
    });
    let body = {};
    try { body = await response.json(); } catch (ignored) { body = {}; }
    return { response: response, body: body };
  }

  function showChallenge(challenge) {
    if (!challenge || !challenge.action) return;
    challengeArrow.textContent = ARROWS[challenge.action] || "";
    challengeText.textContent = challenge.instruction || "";
    instruction.dataset.action = challenge.action;
  }

  async function upload(frames, nonce) {
    const form = new FormData();
    frames.forEach(function (blob, index) { form.append("frames", blob, "frame-" + index + ".jpg"); });
    if (nonce) form.append("nonce", nonce);
    const response = await fetch(root.dataset.endpoint, {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken() },
    });
    let body = {};
    try { body = await response.json(); } catch (ignored) { body = {}; }
    return { response: response, body: body };
  }

  // A pause that began after this page loaded (failures in another tab or browser): wait it
  // out before capturing, instead of capturing for nothing.
  async function heldNow() {
    const response = await fetch("/api/v1/face", { credentials: "same-origin" });
    if (!response.ok) return false; // the capture's own answer will say what is wrong
    const face = await response.json();
    const seconds = face.held_until
      ? Math.ceil((Date.parse(face.held_until) - Date.now()) / 1000) : 0;
    if (seconds <= 0) return false;
    startHold(seconds);
    return true;
  }

  // This sign-in cannot go on here: say why, and offer the way back (no sudden jump).
  function endHere(message, next, code) {
    if (code === "face_tries_spent") {
      message = "That was the last face try of this sign-in, so it has ended to protect your " +
        "account. Sign in with your password again to get new tries.";
    }
    showResult(false, message);
    startButton.hidden = true;
    if (recoverLink) recoverLink.hidden = true;
    triesLeft.hidden = true;
    signInAgain.href = NEXT_PAGES[next] || NEXT_PAGES.login;
    if (next && next !== "login") {
      signInAgain.textContent = "Continue";
    }
    signInAgain.hidden = false;
    signInAgain.focus();
  }

  function failed(message) {
    startButton.disabled = false;
    startLabel = "Try again";
    startButton.textContent = startLabel;
    if (message) showResult(false, message);
  }

  function succeeded(body) {
    const next = body.redirect || "/application/";
    setOval("ok");
    camera.hidden = true;
    if (recoverLink) recoverLink.hidden = true;
    triesLeft.hidden = true;
    if (body.recovery_codes) {
      showResult(true, "Your face is enrolled. Save your recovery codes before you go on.");
      showRecoveryCodes(body.recovery_codes, next);
      return;
    }
    const going = root.dataset.returning === "yes"
      ? "Taking you back to the application that sent you here…"
      : "Taking you to your account…";
    showResult(true, (mode === "enroll" ? "Your face is enrolled. " : "Face verified. ") + going);
    startButton.hidden = true;
    setTimeout(function () { window.location.assign(next); }, 1200);
  }

  async function run() {
    startButton.disabled = true;
    result.hidden = true;
    statusBox.hidden = true;
    setOval("");
    const problem = checkSupport();
    if (problem) {
      showStatus(problem, "error");
      startButton.disabled = false;
      return;
    }
    let challenge;
    try {
      if (mode === "verify" && await heldNow()) return;
      const asked = await postJson("/api/v1/face/challenge");
      if (!asked.response.ok) {
        endHere(asked.body.message || "Your sign-in expired. Sign in again.", asked.body.next);
        return;
      }
      challenge = asked.body;
    } catch (error) {
      failed("The server could not be reached. Check your connection and try again.");
      return;
    }
    FRAME_COUNT = Number(challenge.frames || FRAME_COUNT);
    INTERVAL_MS = Number(challenge.interval_ms || INTERVAL_MS);
    showChallenge(challenge);
    let stream = null;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: WIDTH }, height: { ideal: HEIGHT }, facingMode: "user" },
        audio: false,
      });
    } catch (error) {
      showStatus(cameraProblem(error), "error");
      startButton.disabled = false;
      return;
    }
    let frames;
    try {
      video.srcObject = stream;
      camera.classList.add("live");
      await video.play();
      showStatus(challenge.action
        ? "Get ready: face the camera, and move when the picture says Now."
        : "Get ready: look at the camera and keep still.");
      await countDown();
      frames = await captureFrames(challenge.action);
    } catch (error) {
      showStatus(cameraProblem(error), "error");
      startButton.disabled = false;
      return;
    } finally {
      stopCamera(stream);
    }
    statusBox.hidden = true;
    spinner.hidden = false;
    let outcome;
    try {
      outcome = await upload(frames, challenge.nonce);
    } catch (error) {
      spinner.hidden = true;
      failed("The upload failed. Check your connection and try again.");
      return;
    }
    spinner.hidden = true;
    progress.hidden = true;
    const body = outcome.body;
    if (outcome.response.ok && body.accepted) {
      succeeded(body);
      return;
    }
    const status = outcome.response.status;
    if (body.error === "face_held") {
      showResult(false, body.message || "The face step is paused.");
      startHold(Number(body.retry_after) || 30);
      return;
    }
    if ((status === 401 && body.error !== "face_mismatch") || status === 403 || status === 409) {
      // The tries are spent, the session expired or was revoked, or another step comes first.
      endHere(body.message || "Your sign-in expired. Sign in again.", body.next, body.error);
      return;
    }
    const outcomeResult = body.result || {};
    const reason = mainReason(outcomeResult.frames);
    setOval("problem", reason ? "Most pictures: " + reason : "");
    failed();
    showResult(false, body.message || "Something went wrong. Try again.", outcomeResult.frames);
    showTriesLeft(outcomeResult.attempts_left);
    if (outcomeResult.retry_after) startHold(Number(outcomeResult.retry_after));
  }

  const heldFor = Number(root.dataset.heldFor || 0);
  if (heldFor > 0) startHold(heldFor);
  startButton.addEventListener("click", run);
})();
