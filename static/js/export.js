// "Download my data": fetch the export with the session's cookie and save it; if the session
// has ended (or anything else goes wrong), say so on the page instead of failing silently.
(function () {
  "use strict";

  const link = document.getElementById("export-data");
  const problem = document.getElementById("export-problem");
  if (!link || !problem) return;

  function say(message, signIn) {
    problem.replaceChildren(document.createTextNode(message + " "));
    if (signIn) {
      const again = document.createElement("a");
      again.href = "/auth/login";
      again.textContent = "Sign in again";
      problem.appendChild(again);
    }
    problem.hidden = false;
  }

  link.addEventListener("click", async function (event) {
    event.preventDefault();
    problem.hidden = true;
    let response;
    try {
      response = await fetch(link.href, { credentials: "same-origin",
        headers: { Accept: "application/json" } });
    } catch (error) {
      say("The download failed: the server could not be reached. Check your connection.", false);
      return;
    }
    if (response.status === 401 || response.status === 403) {
      say("Your session has ended, so your data cannot be downloaded. Sign in again, then " +
        "download it from this page.", true);
      return;
    }
    if (!response.ok) {
      say("The download failed (error " + response.status + "). Try again in a moment.", false);
      return;
    }
    const file = URL.createObjectURL(await response.blob());
    const save = document.createElement("a");
    save.href = file;
    save.download = link.getAttribute("download") || "face_auth-my-data.json";
    document.body.appendChild(save);
    save.click();
    save.remove();
    setTimeout(function () { URL.revokeObjectURL(file); }, 10000);
  });
})();
