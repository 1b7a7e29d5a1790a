// Times in the browser's own time zone: every <time data-local="datetime|date|time"> is
// rendered by the server in UTC; here its text becomes the local time and the UTC text moves
// to the tooltip (title).
(function () {
  "use strict";

  const STYLES = {
    datetime: { day: "numeric", month: "short", year: "numeric", hour: "2-digit",
      minute: "2-digit", timeZoneName: "short" },
    date: { day: "numeric", month: "short", year: "numeric" },
    time: { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" },
    clock: { hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
  };

  function localise(element) {
    const moment = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(moment.getTime())) return;
    const style = STYLES[element.dataset.local] || STYLES.datetime;
    const utcText = element.textContent.trim();
    element.textContent = new Intl.DateTimeFormat(undefined, style).format(moment);
    if (!element.title) element.title = utcText;
  }

  function localiseAll(root) {
    (root || document).querySelectorAll("time[data-local]").forEach(localise);
  }

  window.faceAuthLocalTimes = localiseAll;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { localiseAll(); });
  } else {
    localiseAll();
  }
})();
