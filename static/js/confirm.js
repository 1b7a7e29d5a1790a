// Destructive actions ask first: a form with data-confirm opens a dialog saying what will
// happen; only its danger button submits the form. Without JavaScript the form submits as is.
(function () {
  "use strict";

  let dialog = null;

  function buildDialog() {
    const element = document.createElement("dialog");
    element.className = "confirm-dialog";
    element.setAttribute("role", "alertdialog");
    element.setAttribute("aria-modal", "true");
    element.setAttribute("aria-labelledby", "confirm-title");
    element.setAttribute("aria-describedby", "confirm-text");
    element.innerHTML =
      '<h2 id="confirm-title"></h2>' +
      '<p id="confirm-text"></p>' +
      '<div class="actions">' +
      '<button type="button" class="button secondary" id="confirm-cancel">Cancel</button>' +
      '<button type="button" class="button danger" id="confirm-ok"></button>' +
      "</div>";
    document.body.appendChild(element);
    element.querySelector("#confirm-cancel").addEventListener("click", function () {
      element.close("cancel");
    });
    return element;
  }

  function ask(form, opener) {
    dialog = dialog || buildDialog();
    dialog.querySelector("#confirm-title").textContent = form.dataset.confirmTitle || "Are you sure?";
    dialog.querySelector("#confirm-text").textContent = form.dataset.confirm;
    const ok = dialog.querySelector("#confirm-ok");
    ok.textContent = form.dataset.confirmButton || "Continue";
    const fresh = ok.cloneNode(true); // drop the listener of an earlier question
    ok.replaceWith(fresh);
    fresh.addEventListener("click", function () {
      dialog.close("confirm");
      form.dataset.confirmed = "yes";
      if (form.requestSubmit) form.requestSubmit(opener || undefined); else form.submit();
    });
    dialog.addEventListener("close", function restore() {
      dialog.removeEventListener("close", restore);
      if (dialog.returnValue !== "confirm" && opener) opener.focus();
    });
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector("#confirm-cancel").focus();
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (form.dataset.confirmed === "yes") {
      delete form.dataset.confirmed;
      return;
    }
    event.preventDefault();
    ask(form, event.submitter);
  });
})();
