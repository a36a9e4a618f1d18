// Live replay on the incident page: start a run, follow its steps over the WebSocket (resuming from the
// last step seen), move a cursor on the plotly timeline and draw the DAG window around it.
// Only windows ever come from the server: the page stays light for a 1,000,000-event incident.
(function () {
  "use strict";
  const root = document.getElementById("replay");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const incidentId = root.dataset.incident;
  const startNs = BigInt(root.dataset.startNs || "0");
  const KIND_COLOR = {
    MDTick: "#999999", Signal: "#E69F00", PlanDelta: "#56B4E9", Order: "#0072B2", RiskCheck: "#CC79A7",
    ExecReport: "#009E73", Fill: "#D55E00", Annotation: "#000000", Session: "#BBBBBB",
  };
  const DAG_WINDOW = 20;

  const st = {
    run: null, ws: null, cursor: 0, playing: false, speed: "10", total: 0, written: 0,
    step: null, verdict: null, status: "", reconnectDelay: 500, dagFor: null, dagPending: false, selected: null,
  };

  function csrf() {
    const el = root.querySelector("input[name=csrfmiddlewaretoken]");
    if (el) return el.value;
    const m = document.cookie.match(/csrftoken=([^;]+)/);
    return m ? m[1] : "";
  }

  async function api(path, opts) {
    const resp = await fetch(path, Object.assign({ credentials: "same-origin" }, opts || {}));
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(body.detail || JSON.stringify(body) || "HTTP " + resp.status);
    return body;
  }

  // --- starting and opening runs -----------------------------------------------------------------
  const form = $("replay-start");
  if (form) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const sets = $("replay-sets").value.split(",").map((s) => s.trim()).filter(Boolean);
      try {
        const run = await api("/api/replays/", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
          body: JSON.stringify({
            incident: Number(incidentId), stage: $("replay-stage").value, sets: sets,
            path: $("replay-path").value.trim(),
          }),
        });
        open(run.id);
      } catch (err) {
        showNow('<span class="bad">Could not start the replay: ' + esc(err.message) + "</span>");
      }
    });
    const runs = $("replay-runs");
    if (runs) runs.addEventListener("change", () => open(Number(runs.value)));
  }

  function open(runId) {
    if (st.ws) { st.ws.onclose = null; st.ws.close(); }
    st.run = runId; st.verdict = null; st.cursor = 0; st.total = 0; st.written = 0; st.step = null; st.dagFor = null;
    st.playing = false;
    root.dataset.run = String(runId);
    $("replay-run-label").textContent = "run #" + runId;
    $("replay-verdict").hidden = true;
    $("replay-divergence").hidden = true;
    connect(false);
    render();
  }

  // --- the WebSocket: hello with the last step seen, on every (re)connect ---------------------------
  function connect(resume) {
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(proto + location.host + "/ws/replays/" + st.run + "/");
    st.ws = ws;
    ws.onopen = () => {
      st.reconnectDelay = 500;
      $("replay-conn").textContent = "● live";
      ws.send(JSON.stringify({
        type: "hello", last_step: st.cursor, playing: resume ? st.playing : false,
        speed: st.speed === "max" ? "max" : Number(st.speed),
      }));
    };
    ws.onmessage = (ev) => onFrame(JSON.parse(ev.data));
    ws.onclose = () => {
      $("replay-conn").textContent = "○ reconnecting";
      if (st.ws !== ws) return;
      setTimeout(() => { if (st.ws === ws) connect(true); }, st.reconnectDelay);
      st.reconnectDelay = Math.min(st.reconnectDelay * 2, 8000);
    };
  }

  function send(msg) {
    if (st.ws && st.ws.readyState === WebSocket.OPEN) st.ws.send(JSON.stringify(msg));
  }

  async function onFrame(f) {
    if (f.type === "status") {
      st.status = f.status; st.written = f.steps_written || 0; st.total = f.total_steps || st.written;
      $("replay-bar").style.width = Math.round((f.progress || 0) * 100) + "%";
      if (f.verdict) { st.verdict = f.verdict; showVerdict(f.verdict); }
      if (f.error) showNow('<span class="bad">' + esc(f.error) + "</span>");
    } else if (f.type === "steps") {
      if (f.to <= st.cursor) return; // a duplicate (never expected): ignore
      let steps = f.steps.filter((s) => s.n > st.cursor);
      if (steps.length && steps[0].n > st.cursor + 1) {
        // A gap (never expected from the server): fetch the missing steps from the API first.
        const missing = await api("/api/replays/" + st.run + "/steps?after=" + st.cursor + "&limit=" + (steps[0].n - st.cursor - 1));
        steps = missing.steps.concat(steps);
      }
      if (!steps.length) return;
      st.cursor = steps[steps.length - 1].n;
      st.step = steps[steps.length - 1];
      st.written = Math.max(st.written, st.cursor);
    } else if (f.type === "seek") {
      st.cursor = f.cursor; st.step = f.step;
    } else if (f.type === "state") {
      st.playing = f.playing;
    } else if (f.type === "error") {
      showNow('<span class="bad">' + esc(f.message) + "</span>");
    }
    render();
  }

  // --- controls and keyboard -----------------------------------------------------------------------
  function togglePlay() { st.playing = !st.playing; send({ type: st.playing ? "play" : "pause" }); render(); }
  function stepBy(by) { st.playing = false; send({ type: "step", by: by }); }
  $("replay-play").addEventListener("click", togglePlay);
  $("replay-fwd").addEventListener("click", () => stepBy(1));
  $("replay-back").addEventListener("click", () => stepBy(-1));
  $("replay-speed").addEventListener("change", (ev) => {
    st.speed = ev.target.value;
    send({ type: "speed", value: st.speed === "max" ? "max" : Number(st.speed) });
  });
  $("replay-seek").addEventListener("change", (ev) => send({ type: "seek", n: Number(ev.target.value) }));
  // Buttons give focus back after a click, so space and the arrows keep driving the replay.
  root.addEventListener("click", (ev) => {
    const b = ev.target.closest("button");
    if (b) setTimeout(() => b.blur(), 0);
  });
  document.addEventListener("keydown", (ev) => {
    if (!st.run || ev.target.closest("input, select, textarea")) return;
    if (ev.key === " ") { ev.preventDefault(); togglePlay(); }
    else if (ev.key === "ArrowRight") { ev.preventDefault(); stepBy(1); }
    else if (ev.key === "ArrowLeft") { ev.preventDefault(); stepBy(-1); }
  });

  // --- drawing (coalesced to one update per animation frame) ----------------------------------------
  let frameQueued = false;
  function render() {
    if (frameQueued) return;
    frameQueued = true;
    requestAnimationFrame(() => { frameQueued = false; draw(); });
  }

  function draw() {
    const status = $("replay-status");
    status.textContent = st.status || "—";
    status.className = "badge run-status s-" + st.status;
    const play = $("replay-play");
    play.innerHTML = st.playing ? "&#10074;&#10074; Pause" : "&#9654; Play";
    play.setAttribute("aria-label", st.playing ? "Pause" : "Play");
    const seek = $("replay-seek");
    seek.max = String(st.total || st.written || 0);
    if (document.activeElement !== seek) seek.value = String(st.cursor);
    $("replay-pos").textContent = st.cursor.toLocaleString() + " / " + (st.total || st.written).toLocaleString();
    root.dataset.cursor = String(st.cursor);
    const s = st.step;
    if (s) {
      const verdict = s.match === true ? '<span class="ok">matched</span>' : s.match === false ? '<span class="bad">diverged</span>' : '<span class="muted">input</span>';
      showNow('<span class="mono">#' + s.n + '</span> <span class="kind kind-' + esc(s.kind) + '">' + esc(s.kind) + "</span> " +
        esc(s.host || "replay only") + ' <span class="muted">/ ' + esc(s.lane) + '</span> <span class="mono small">' + esc(s.ref) + "</span> " + verdict +
        ' <span class="muted small">' + keyText(s.summary && s.summary.keys) + "</span>");
      moveTimelineCursor(s.ts_ns);
      // The divergence panel follows the cursor: this step's own sides, else the run's first divergence.
      if (s.match === false) showStepDivergence(s);
      else if (st.verdict) showVerdict(st.verdict);
    }
    if (st.cursor && st.dagFor !== st.cursor) loadDag();
  }

  function showNow(html) { $("replay-now").innerHTML = html; }

  function moveTimelineCursor(tsNs) {
    const plot = document.getElementById("timeline");
    if (!plot || !window.Plotly || tsNs == null || !plot.layout) return;
    const x = Number(BigInt(tsNs) - startNs) / 1000; // the timeline's x is µs from incident start
    const others = (plot.layout.shapes || []).filter((sh) => sh.name !== "replay-cursor");
    Plotly.relayout(plot, {
      shapes: others.concat([{
        name: "replay-cursor", type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1,
        line: { color: "#b42318", width: 2, dash: "dot" },
      }]),
    });
  }

  function showVerdict(v) {
    const box = $("replay-verdict");
    box.hidden = false;
    box.className = "replay-verdict " + v.status;
    let html = "<b>" + esc(v.status.toUpperCase()) + "</b> · " + (v.events || 0).toLocaleString() + " events, " +
      (v.outputs_compared || 0).toLocaleString() + " outputs compared";
    if (v.mode === "strategy") html += " · matched " + v.matched + ", missing " + v.missing + ", extra " + v.extra;
    html += ' · <span class="mono small">digest ' + esc((v.run_digest || "").slice(0, 16)) + "…</span>";
    box.innerHTML = html;
    const fd = v.first_divergence;
    if (fd && (fd.recorded || fd.replayed)) {
      showSides(fd.recorded, fd.replayed, fd.diff || [], "First divergence: " + (fd.reason || "") + " at output #" + fd.index + " (" + (fd.stage || "") + ")");
    }
  }

  function showStepDivergence(step) {
    const sm = step.summary || {};
    const rec = sm.extra ? null : { kind: step.kind, keys: sm.keys, payload: sm.payload };
    showSides(rec, sm.replayed, sm.diff || [], "Step #" + step.n + " diverged" + (sm.issue ? ": " + sm.issue : ""));
  }

  function showSides(rec, rep, diff, title) {
    const box = $("replay-divergence");
    box.hidden = false;
    $("div-recorded").textContent = rec ? JSON.stringify(rec, null, 2) : "(not recorded)";
    $("div-replayed").textContent = rep ? JSON.stringify(rep, null, 2) : "(not produced by the replay)";
    let html = '<caption class="small muted">' + esc(title) + "</caption>";
    if (!diff.length) {
      const why = !rec ? "The replay produced this output; the recording has no counterpart."
        : !rep ? "The recording has this output; the replay did not produce it." : "No field-level differences.";
      $("div-diff").innerHTML = html + '<tbody><tr><td class="muted small">' + esc(why) + "</td></tr></tbody>";
      return;
    }
    html += "<thead><tr><th>Field</th><th>Recorded</th><th>Replayed</th></tr></thead><tbody>";
    for (const d of diff) {
      html += '<tr><td class="mono">' + esc(d.path) + '</td><td class="mono rec">' + esc(JSON.stringify(d.recorded)) + '</td><td class="mono rep">' + esc(JSON.stringify(d.replayed)) + "</td></tr>";
    }
    $("div-diff").innerHTML = html + "</tbody>";
  }

  // --- the DAG window ----------------------------------------------------------------------------------
  async function loadDag() {
    if (st.dagPending) return;
    st.dagPending = true;
    const cursor = st.cursor;
    try {
      const dag = await api("/api/replays/" + st.run + "/dag?cursor=" + cursor + "&window=" + DAG_WINDOW);
      drawDag(dag);
      st.dagFor = cursor;
    } catch (err) {
      $("dag").innerHTML = '<div class="alert error">Could not load the graph: ' + esc(err.message) + "</div>";
      st.dagFor = cursor;
    } finally {
      st.dagPending = false;
      if (st.dagFor !== st.cursor) setTimeout(loadDag, 120);
    }
  }

  const SVG = "http://www.w3.org/2000/svg";
  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function drawDag(dag) {
    const box = $("dag");
    // Fit the window to the card: no horizontal scrolling, lane labels always in view.
    const left = 170, laneH = 34, top = 22, slots = dag.to - dag.from + 1;
    const dx = Math.max(14, Math.floor((Math.max(box.clientWidth, 600) - left - 12) / slots));
    const width = left + slots * dx + 12;
    const height = top + dag.lanes.length * laneH + 10;
    const svg = el("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height, role: "img" });
    const X = (n) => left + (n - dag.from) * dx + dx / 2;
    const Y = (row) => top + row * laneH + laneH / 2;
    dag.lanes.forEach((label, i) => {
      el("rect", { x: 0, y: top + i * laneH, width: width, height: laneH, class: "lane-band" + (i % 2 ? " alt" : "") }, svg);
      // Steps only the replay produced have no recorded host: say so instead of a bare "/ lane".
      el("text", { x: 8, y: Y(i) + 4, class: "lane-label" }, svg).textContent = label.replace(/^\s*\/\s*/, "replay only / ");
    });
    const byN = new Map(dag.nodes.map((n) => [n.n, n]));
    const edgeEls = [];
    for (const e of dag.edges) {
      const a = byN.get(e.src), b = byN.get(e.dst);
      const x1 = X(a.n), y1 = Y(a.y), x2 = X(b.n), y2 = Y(b.y), mx = (x1 + x2) / 2;
      const p = el("path", { d: "M" + x1 + "," + y1 + " C" + mx + "," + y1 + " " + mx + "," + y2 + " " + x2 + "," + y2, class: "edge" }, svg);
      p.dataset.src = e.src; p.dataset.dst = e.dst;
      el("title", {}, p).textContent = e.kind;
      edgeEls.push(p);
    }
    const cx = X(dag.cursor);
    el("line", { x1: cx, x2: cx, y1: top - 4, y2: height, class: "cursor-line" }, svg);
    el("text", { x: cx + 4, y: 14, class: "cursor-label" }, svg).textContent = "#" + dag.cursor;
    const nodeEls = new Map();
    for (const n of dag.nodes) {
      const cls = "node" + (n.match === false ? " mismatch" : n.match === true ? " match" : "");
      const c = el("circle", { cx: X(n.n), cy: Y(n.y), r: n.n === dag.cursor ? 8 : 6, fill: KIND_COLOR[n.kind] || "#666", class: cls }, svg);
      c.dataset.n = n.n;
      el("title", {}, c).textContent = "#" + n.n + " " + n.kind + " " + n.ref;
      c.addEventListener("click", () => selectNode(n, dag, nodeEls, edgeEls));
      nodeEls.set(n.n, c);
    }
    box.innerHTML = "";
    box.appendChild(svg);
    $("dag-range").textContent = "steps " + dag.from + "–" + Math.min(dag.to, dag.from + dag.nodes.length - 1);
    const kinds = [...new Set(dag.nodes.map((n) => n.kind))].sort();
    $("dag-legend").innerHTML = kinds.map((k) => '<span><i style="background:' + (KIND_COLOR[k] || "#666") + '"></i>' + esc(k) + "</span>").join("") +
      '<span><i style="background:#fff;border:2px solid var(--bad)"></i>diverged</span>';
    if (st.selected && byN.has(st.selected)) selectNode(byN.get(st.selected), dag, nodeEls, edgeEls);
  }

  function selectNode(node, dag, nodeEls, edgeEls) {
    st.selected = node.n;
    // Ancestry inside the window: walk edges backwards from the node.
    const parents = new Map();
    for (const e of dag.edges) {
      if (!parents.has(e.dst)) parents.set(e.dst, []);
      parents.get(e.dst).push(e.src);
    }
    const keep = new Set([node.n]);
    const stack = [node.n];
    while (stack.length) {
      for (const p of parents.get(stack.pop()) || []) if (!keep.has(p)) { keep.add(p); stack.push(p); }
    }
    nodeEls.forEach((c, n) => {
      c.classList.toggle("dim", !keep.has(n));
      c.classList.toggle("selected", n === node.n);
    });
    for (const p of edgeEls) {
      const on = keep.has(Number(p.dataset.src)) && keep.has(Number(p.dataset.dst));
      p.classList.toggle("hl", on);
      p.classList.toggle("dim", !on);
    }
    if (node.event_id) showEventDetail(node.event_id);
  }

  async function showEventDetail(eventId) {
    const panel = document.getElementById("detail-panel");
    if (!panel) return;
    try {
      const resp = await fetch("/incidents/" + incidentId + "/events/" + eventId + "/?partial=1", { credentials: "same-origin" });
      if (resp.ok) panel.innerHTML = await resp.text();
    } catch (err) { /* the DAG still shows the selection */ }
  }

  function keyText(keys) {
    if (!keys) return "";
    return Object.keys(keys).sort().map((k) => esc(k) + "=" + esc(keys[k])).join(" ");
  }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  if (root.dataset.run) open(Number(root.dataset.run));
})();
