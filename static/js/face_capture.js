// Face step: ask the server for a liveness challenge (a head movement and a single-use nonce),
// show it with an arrow, open the camera, capture the frames it asks for, upload them with the
// nonce, show the result. Frames live only in memory for the upload; the camera is released
// right after capture.
(function () {
  "use strict";

  const root = document.getElementById("face-step");
  if (!root) return;

  let FRAME_COUNT = Number(root.dataset.frames || 8);
  let INTERVAL_MS = 250;
  // Before the first frame: time to read the instruction and get ready.
  const READY_MS = 1200;
  // The preview is mirrored, so the person's left is the screen's left.
  const ARROWS = { turn_left: "←", turn_right: "→", look_up: "↑", look_down: "↓" };
  const WIDTH = 640;
  const HEIGHT = 480;
  const JPEG_QUALITY = 0.9;
  const NEXT_PAGES = {
    enroll_face: "/application/face/enroll",
    verify_face: "/application/face/verify",
    login: "/auth/login",
    enrollment_code: "/application/face/recover",
  };

  const video = document.getElementById("preview");
  const camera = document.getElementById("camera");
  const startButton = document.getElementById("start");
  const statusBox = document.getElementById("status");
  const progress = document.getElementById("progress");
  const progressFill = document.getElementById("progress-fill");
  const progressText = document.getElementById("progress-text");
  const spinner = document.getElementById("spinner");
  const result = document.getElementById("result");
  const resultMessage = document.getElementById("result-message");
  const frameReasons = document.getElementById("frame-reasons");
  const codesPanel = document.getElementById("recovery-codes");
  const codeList = document.getElementById("recovery-code-list");
  const downloadCodes = document.getElementById("download-codes");
  const codesSaved = document.getElementById("codes-saved");
  const challengeBox = document.getElementById("challenge");
  const challengeArrow = document.getElementById("challenge-arrow");
  const challengeText = document.getElementById("challenge-text");

  // The page carries this session's CSRF token (the cookie is HttpOnly).
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function showStatus(text, kind) {
    statusBox.textContent = text;
    statusBox.className = "alert " + (kind || "info");
    statusBox.hidden = false;
  }

  function setProgress(done) {
    progress.hidden = false;
    progressFill.style.width = (100 * done / FRAME_COUNT) + "%";
    progressText.textContent = "Frame " + done + " of " + FRAME_COUNT;
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

  async function captureFrames() {
    const canvas = document.createElement("canvas");
    canvas.width = WIDTH;
    canvas.height = HEIGHT;
    const frames = [];
    setProgress(0);
    for (let index = 0; index < FRAME_COUNT; index += 1) {
      frames.push(await grabFrame(canvas));
      setProgress(index + 1);
      if (index + 1 < FRAME_COUNT) await sleep(INTERVAL_MS);
    }
    return frames;
  }

  function showResult(ok, message, frames) {
    result.hidden = false;
    resultMessage.className = "alert " + (ok ? "success" : "error");
    resultMessage.textContent = message;
    frameReasons.replaceChildren();
    (frames || []).filter(function (f) { return !f.accepted; }).forEach(function (f) {
      const item = document.createElement("li");
      item.textContent = "Frame " + (f.index + 1) + ": " + f.reason;
      frameReasons.appendChild(item);
    });
  }

  // The first enrollment returns the recovery codes, shown this once: list them, offer them as
  // a text file, and go on only when the user says they are saved.
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
    startButton.hidden = true;
    codesSaved.addEventListener("click", function () { window.location.assign(next); });
  }

  // The challenge for this capture: {mode, nonce, action, instruction, frames, interval_ms}.
  async function askChallenge() {
    const response = await fetch("/api/v1/face/challenge", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken() },
    });
    let body = {};
    try { body = await response.json(); } catch (ignored) { body = {}; }
    return { response: response, body: body };
  }

  function showChallenge(challenge) {
    if (!challenge || !challenge.action) {
      challengeBox.hidden = true;
      return;
    }
    challengeArrow.textContent = ARROWS[challenge.action] || "";
    challengeText.textContent = challenge.instruction || "";
    challengeBox.dataset.action = challenge.action;
    challengeBox.hidden = false;
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

  async function run() {
    startButton.disabled = true;
    result.hidden = true;
    const problem = checkSupport();
    if (problem) {
      showStatus(problem, "error");
      startButton.disabled = false;
      return;
    }
    let challenge;
    try {
      const asked = await askChallenge();
      if (!asked.response.ok) {
        showResult(false, asked.body.message || "Your sign-in expired. Sign in again.");
        const target = NEXT_PAGES[asked.body.next] || NEXT_PAGES.login;
        setTimeout(function () { window.location.assign(target); }, 2500);
        return;
      }
      challenge = asked.body;
    } catch (error) {
      showResult(false, "The server could not be reached. Check your connection and try again.");
      startButton.disabled = false;
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
      if (challenge.action) {
        showStatus("Look at the camera. When the pictures start: " +
          challenge.instruction.charAt(0).toLowerCase() + challenge.instruction.slice(1) + ".");
        await sleep(READY_MS);
      } else {
        showStatus("Look at the camera and keep still…");
        await sleep(600);
      }
      frames = await captureFrames();
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
      showResult(false, "The upload failed. Check your connection and try again.");
      startButton.disabled = false;
      startButton.textContent = "Try again";
      return;
    }
    spinner.hidden = true;
    challengeBox.hidden = true;
    const body = outcome.body;
    if (outcome.response.ok && body.accepted) {
      const next = body.redirect || "/application/";
      if (body.recovery_codes) {
        showResult(true, "Your face is enrolled. Save your recovery codes before you go on.",
          body.frames);
        showRecoveryCodes(body.recovery_codes, next);
        return;
      }
      showResult(true, root.dataset.mode === "enroll"
        ? "Your face is enrolled. Taking you to your account…"
        : "Face verified. Taking you to your account…", body.frames);
      setTimeout(function () { window.location.assign(next); }, 1200);
      return;
    }
    const status = outcome.response.status;
    if ((status === 401 && body.error !== "face_mismatch") || status === 403 || status === 409) {
      // The session expired or was revoked, or another step comes first.
      showResult(false, body.message || "Your sign-in expired. Sign in again.");
      const target = NEXT_PAGES[body.next] || NEXT_PAGES.login;
      setTimeout(function () { window.location.assign(target); }, 2500);
      return;
    }
    const frameResults = body.result ? body.result.frames : [];
    showResult(false, body.message || "Something went wrong. Try again.", frameResults);
    startButton.disabled = false;
    startButton.textContent = "Try again";
  }

  startButton.addEventListener("click", run);
})();
