// A "Show" button beside each password field, so a person can check what they typed
// (Keycloak and Auth0 offer the same). Added by script: without JavaScript it would do nothing.
(function () {
  "use strict";

  function addToggle(input) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button secondary small reveal-password";
    button.textContent = "Show";
    button.setAttribute("aria-controls", input.id);
    button.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-label", "Show password");
    button.addEventListener("click", function () {
      const shown = input.type === "password";
      input.type = shown ? "text" : "password";
      button.textContent = shown ? "Hide" : "Show";
      button.setAttribute("aria-pressed", String(shown));
      button.setAttribute("aria-label", shown ? "Hide password" : "Show password");
      input.focus();
    });
    input.insertAdjacentElement("afterend", button);
  }

  function hideAllBeforeSubmit(form) {
    // A shown password goes back to a password field before the form leaves the page, so
    // the browser's autofill and history treat it as one.
    form.addEventListener("submit", function () {
      form.querySelectorAll("input.revealable").forEach(function (input) {
        input.type = "password";
      });
    });
  }

  document.querySelectorAll('input[type="password"]').forEach(function (input) {
    input.classList.add("revealable");
    addToggle(input);
  });
  document.querySelectorAll("form").forEach(hideAllBeforeSubmit);
})();
