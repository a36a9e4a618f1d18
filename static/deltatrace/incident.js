// Incident page: refetch the timeline for the zoomed window, and load event details into the side panel.
(function () {
  "use strict";
  const wrap = document.getElementById("timeline-wrap");
  const plot = document.getElementById("timeline");
  const status = document.getElementById("timeline-status");
  const panel = document.getElementById("detail-panel");
  const table = document.getElementById("event-table");
  const detailBase = window.location.pathname.replace(/\/$/, "") + "/events/";

  function setStatus(text, isError) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("error", !!isError);
  }

  async function showEvent(id, push) {
    if (!panel || !id) return;
    panel.setAttribute("aria-busy", "true");
    try {
      const resp = await fetch(detailBase + id + "/?partial=1", { credentials: "same-origin" });
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      panel.innerHTML = await resp.text();
      panel.scrollTop = 0;
      if (table) {
        table.querySelectorAll("tr.selected").forEach((tr) => tr.classList.remove("selected"));
        const row = table.querySelector('tr[data-event="' + id + '"]');
        if (row) row.classList.add("selected");
      }
      if (push) history.replaceState(null, "", "#event-" + id);
    } catch (err) {
      panel.innerHTML = '<div class="alert error">Could not load event ' + id + ": " + err.message + "</div>";
    } finally {
      panel.removeAttribute("aria-busy");
    }
  }

  // Clicks on table rows and on parent/child links inside the panel stay on the page.
  document.addEventListener("click", (ev) => {
    const link = ev.target.closest("a.event-link");
    const row = ev.target.closest("#event-table tbody tr");
    if (ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    if (link && link.dataset.event) { ev.preventDefault(); showEvent(link.dataset.event, true); return; }
    if (row) { ev.preventDefault(); showEvent(row.dataset.event, true); }
  });

  if (plot && wrap && window.Plotly) {
    const url = wrap.dataset.url;
    let pending = null;
    let ignoreNext = false;

    async function reload(x0, x1) {
      if (pending) pending.abort();
      pending = new AbortController();
      const q = new URLSearchParams();
      if (x0 !== undefined) { q.set("x0", x0); q.set("x1", x1); }
      setStatus("Loading…");
      try {
        const resp = await fetch(url + "?" + q.toString(), { credentials: "same-origin", signal: pending.signal });
        if (!resp.ok) throw new Error("HTTP " + resp.status);
        const fig = await resp.json();
        ignoreNext = true;
        await Plotly.react(plot, fig.data, fig.layout);
        const note = (fig.layout.annotations || [])[0];
        setStatus(note ? note.text : "");
      } catch (err) {
        if (err.name !== "AbortError") setStatus("Could not load the timeline: " + err.message, true);
      }
    }

    plot.on("plotly_relayout", (ev) => {
      if (ignoreNext) { ignoreNext = false; return; }
      if (ev["xaxis.range[0]"] !== undefined) reload(ev["xaxis.range[0]"], ev["xaxis.range[1]"]);
      else if (ev["xaxis.autorange"]) reload();
    });
    plot.on("plotly_click", (ev) => {
      const p = ev.points && ev.points[0];
      if (p && p.customdata !== undefined && p.data.type !== "heatmap") showEvent(p.customdata, true);
    });
    const reset = document.getElementById("timeline-reset");
    if (reset) reset.addEventListener("click", () => reload());
  }

  // A large incident's latency card comes after the page: computing it takes seconds.
  const latency = document.getElementById("latency");
  if (latency && latency.dataset.src) {
    fetch(latency.dataset.src, { credentials: "same-origin" })
      .then((resp) => {
        if (!resp.ok) throw new Error("HTTP " + resp.status);
        return resp.text();
      })
      .then((html) => { latency.innerHTML = html; })
      .catch((err) => {
        const p = latency.querySelector(".empty p");
        if (p) p.textContent = "Could not compute the latencies: " + err.message;
      })
      .finally(() => latency.removeAttribute("aria-busy"));
  }

  // Live: while an adapter appends to this incident (a FIX drop-copy session, say), offer the new events.
  const head = document.getElementById("incident-head");
  const notice = document.getElementById("live-notice");
  if (head && notice && window.WebSocket) {
    const shown = { events: Number(head.dataset.eventCount), quarantined: Number(head.dataset.quarantinedCount) };
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/incidents/" + head.dataset.incident + "/";
    let retry = 1000;
    const connect = () => {
      const ws = new WebSocket(url);
      ws.onopen = () => {
        retry = 1000;
        ws.send(JSON.stringify({ type: "hello", event_count: shown.events, quarantined_count: shown.quarantined }));
      };
      ws.onmessage = (msg) => {
        const data = JSON.parse(msg.data);
        if (data.type !== "incident") return;
        const more = data.event_count - shown.events;
        const bad = data.quarantined_count - shown.quarantined;
        const parts = [];
        if (more) parts.push(more.toLocaleString() + " new event" + (more === 1 ? "" : "s"));
        if (bad) parts.push(bad.toLocaleString() + " newly quarantined");
        document.getElementById("live-notice-text").textContent =
          parts.join(", ") + " since this page loaded (" + data.event_count.toLocaleString() + " in all).";
        notice.hidden = parts.length === 0;
      };
      ws.onclose = (ev) => {
        if (ev.code === 4403 || ev.code === 4404) return;  // no access, or gone: nothing to wait for
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 30000);
      };
    };
    connect();
  }

  const m = window.location.hash.match(/^#event-(\d+)$/);
  if (m) showEvent(m[1], false);
})();
