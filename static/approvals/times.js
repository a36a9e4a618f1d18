// Show epoch-millisecond timestamps (<time data-epoch-ms>) as UTC date-times with the time left.
(function () {
  "use strict";
  const now = Date.now();
  for (const el of document.querySelectorAll("time[data-epoch-ms]")) {
    const ms = Number(el.dataset.epochMs);
    if (!Number.isFinite(ms)) continue;
    const iso = new Date(ms).toISOString();
    el.dateTime = iso;
    el.textContent = iso.slice(0, 16).replace("T", " ");
    const mins = Math.round((ms - now) / 60000);
    const left = mins <= 0 ? "expired" : mins < 120 ? "in " + mins + " min" : "in " + Math.round(mins / 60) + " h";
    el.title = iso;
    el.insertAdjacentHTML("afterend", ' <span class="muted">(' + left + ")</span>");
  }
})();
