// Approver keys made in this browser: Ed25519 via WebCrypto, the private key non-extractable and
// kept as a CryptoKey in IndexedDB (the browser can use it to sign; nobody can read it out).
(function (root) {
  "use strict";
  const DB = "deltatrace-approver-keys", STORE = "keys", ALG = { name: "Ed25519" };

  function csrf() {
    const el = document.querySelector("[name=csrfmiddlewaretoken]");
    return el ? el.value : "";
  }
  async function api(path, body) {
    const init = body === undefined ? { credentials: "same-origin" } : {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body),
    };
    const resp = await fetch(path, init);
    const type = resp.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await resp.json() : await resp.text();
    if (!resp.ok) throw new Error((data && data.detail) || ("HTTP " + resp.status));
    return data;
  }
  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "key_id" });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  async function store(mode, fn) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req && req.result);
      tx.onerror = () => reject(tx.error);
    });
  }
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
  const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
  const unhex = (s) => Uint8Array.from(s.match(/../g) || [], (h) => parseInt(h, 16));
  async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)); }

  async function localKeys(user) {
    const all = await store("readonly", (s) => s.getAll());
    return (all || []).filter((r) => r.user === user);
  }
  async function serverKeys() { return (await api("/api/approver-keys/")).results; }

  // The newest key of this user that is in this browser and registered, not revoked.
  async function activeKey(user) {
    const live = new Set((await serverKeys()).filter((k) => !k.revoked).map((k) => k.key_id));
    const mine = (await localKeys(user)).filter((r) => live.has(r.key_id));
    mine.sort((a, b) => b.created - a.created);
    return mine[0] || null;
  }
  async function createKey(user, label) {
    const pair = await crypto.subtle.generateKey(ALG, false, ["sign", "verify"]);
    const raw = await crypto.subtle.exportKey("raw", pair.publicKey); // the public half only
    const reg = await api("/api/approver-keys/", { public_key: b64(raw), label: label || "browser key" });
    const rec = { key_id: reg.key_id, user, privateKey: pair.privateKey, publicKey: pair.publicKey,
                  created: Date.now() };
    await store("readwrite", (s) => s.put(rec));
    return rec;
  }
  async function ensureKey(user) { return (await activeKey(user)) || createKey(user); }

  async function checkpoint() {
    const lines = (await api("/api/ledger/checkpoint")).split("\n");
    return { tree_size: parseInt(lines[1], 10), root_hash: hex(unb64(lines[2])) };
  }
  async function sign(rec, statement) {
    const sig = await crypto.subtle.sign(ALG, rec.privateKey, DeltaJCS.bytes(statement));
    return b64(sig);
  }
  async function verify(publicB64, signatureB64, text) {
    const key = await crypto.subtle.importKey("raw", unb64(publicB64), ALG, false, ["verify"]);
    return crypto.subtle.verify(ALG, key, unb64(signatureB64), new TextEncoder().encode(text));
  }

  // RFC 9162 section 2.1.3.2: the root an inclusion proof leads to.
  async function node(left, right) {
    const buf = new Uint8Array(65);
    buf[0] = 1; buf.set(left, 1); buf.set(right, 33);
    return sha256(buf);
  }
  async function leafHash(entryText) {
    const body = new TextEncoder().encode(entryText);
    const buf = new Uint8Array(body.length + 1);
    buf.set(body, 1);
    return sha256(buf);
  }
  async function inclusionRoot(index, size, leaf, path) {
    if (index >= size) throw new Error("index beyond tree size");
    let fn = index, sn = size - 1, r = leaf;
    for (const h of path) {
      const p = unhex(h);
      if (sn === 0) throw new Error("proof too long");
      if ((fn & 1) === 1 || fn === sn) {
        r = await node(p, r);
        while ((fn & 1) === 0 && fn !== 0) { fn >>= 1; sn >>= 1; }
      } else {
        r = await node(r, p);
      }
      fn >>= 1; sn >>= 1;
    }
    if (sn !== 0) throw new Error("proof too short");
    return hex(r);
  }

  root.DeltaSigner = { api, csrf, localKeys, serverKeys, activeKey, createKey, ensureKey, checkpoint,
                       sign, verify, leafHash, inclusionRoot, sha256, hex };
})(window);
