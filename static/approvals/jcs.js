// RFC 8785 (JCS) for the values approval statements and trigger contents hold: objects, arrays,
// strings, safe integers, booleans and null. Floats are refused rather than approximated, so the
// bytes always equal the server's strict_jcs. Keys sort by UTF-16 code units (JS string order).
(function (root) {
  "use strict";
  function canonicalize(value) {
    if (value === null || typeof value === "boolean") return JSON.stringify(value);
    if (typeof value === "string") return JSON.stringify(value); // ES2019 well-formed JSON.stringify
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) throw new Error("JCS here takes safe integers only, not " + value);
      return String(value);
    }
    if (Array.isArray(value)) return "[" + value.map(canonicalize).join(",") + "]";
    if (typeof value === "object") {
      const keys = Object.keys(value).sort();
      return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalize(value[k])).join(",") + "}";
    }
    throw new Error("not a JSON value: " + typeof value);
  }
  function bytes(value) { return new TextEncoder().encode(canonicalize(value)); }
  root.DeltaJCS = { canonicalize, bytes };
})(window);
