// discvault's web UI: the little that needs a script of its own (the policy allows no inline
// script). A task's page follows its task through the API's server-sent events.
(function () {
  "use strict";
  // A task's progress in the page's language: the words of its code (the element's
  // data-words, from the server) with its arguments put in; else the library's English.
  function said(el, t) {
    var words = {};
    try { words = JSON.parse(el.dataset.words || "{}"); } catch (e) { words = {}; }
    var step = t.step;
    var text = step && Object.prototype.hasOwnProperty.call(words, "step." + step.code)
      ? words["step." + step.code] : null;
    if (text === null) return t.progress;
    // One pass: what is put in is not read again.
    function putIn(w, arg) {
      return w.replace(/\{([a-z_]+)\}/g, function (m, k) {
        var v = arg(k);
        return v === undefined ? m : v;
      });
    }
    text = putIn(text, function (k) {
      if (!Object.prototype.hasOwnProperty.call(step, k)) return undefined;
      var v = String(step[k]);
      if (k === "role" && Object.prototype.hasOwnProperty.call(words, "settings.role." + v)) {
        v = words["settings.role." + v];
      }
      return v;
    });
    if (step.items !== undefined && words["step.items"]) {
      var said = text;
      text = putIn(words["step.items"], function (k) {
        return k === "step" ? said : k === "items" ? String(step.items) : undefined;
      });
    }
    return text;
  }
  function follow() {
    var el = document.getElementById("task");
    if (!el || el.dataset.ended === "true" || !window.EventSource) return;
    var src = new EventSource("/api/v1/tasks/" + encodeURIComponent(el.dataset.task) + "/events");
    src.addEventListener("task", function (ev) {
      var t = JSON.parse(ev.data);
      var state = document.getElementById("task-state");
      var progress = document.getElementById("task-progress");
      if (state) state.textContent = el.dataset[t.state] || t.state;
      if (progress) progress.textContent = said(progress, t);
      if (["queued", "running"].indexOf(t.state) < 0) {
        src.close();
        // The whole page again: the result, the error, no cancel button.
        window.location.reload();
      }
    });
  }
  // A button that prints the page (a pick list for the reading room).
  function printing() {
    var buttons = document.querySelectorAll("button[data-print]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener("click", function () { window.print(); });
    }
  }
  // SHA-256 (FIPS 180-4), fed in pieces: a file of any size is hashed as it is read, never
  // held whole (WebCrypto hashes only whole buffers, and only on https or this very machine).
  var K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  function Sha256() {
    this.h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                              0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    this.w = new Uint32Array(64);
    this.buf = new Uint8Array(64);
    this.fill = 0;
    this.length = 0;
  }
  Sha256.prototype.block = function (b, o) {
    var w = this.w, h = this.h, i, t1, t2;
    for (i = 0; i < 16; i++) {
      w[i] = (b[o + 4 * i] << 24) | (b[o + 4 * i + 1] << 16) | (b[o + 4 * i + 2] << 8) | b[o + 4 * i + 3];
    }
    for (i = 16; i < 64; i++) {
      var x = w[i - 15], y = w[i - 2];
      var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    var a = h[0], c1 = h[1], c2 = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (i = 0; i < 64; i++) {
      var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      t1 = (k + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      t2 = (S0 + ((a & c1) ^ (a & c2) ^ (c1 & c2))) | 0;
      k = g; g = f; f = e; e = (d + t1) | 0; d = c2; c2 = c1; c1 = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += c1; h[2] += c2; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
  };
  Sha256.prototype.update = function (data) {
    var o = 0, n = data.length;
    this.length += n;
    if (this.fill > 0) {
      var take = Math.min(64 - this.fill, n);
      this.buf.set(data.subarray(0, take), this.fill);
      this.fill += take; o = take;
      if (this.fill < 64) return;
      this.block(this.buf, 0); this.fill = 0;
    }
    for (; o + 64 <= n; o += 64) this.block(data, o);
    if (o < n) { this.buf.set(data.subarray(o), 0); this.fill = n - o; }
  };
  Sha256.prototype.hex = function () {
    var bits = this.length * 8;
    var tail = new Uint8Array(this.fill < 56 ? 64 - this.fill : 128 - this.fill);
    tail[0] = 0x80;
    var hi = Math.floor(bits / 4294967296), lo = bits >>> 0;
    var n = tail.length;
    tail[n - 8] = hi >>> 24; tail[n - 7] = hi >>> 16; tail[n - 6] = hi >>> 8; tail[n - 5] = hi;
    tail[n - 4] = lo >>> 24; tail[n - 3] = lo >>> 16; tail[n - 2] = lo >>> 8; tail[n - 1] = lo;
    this.update(tail);
    var out = "";
    for (var i = 0; i < 8; i++) out += ("0000000" + this.h[i].toString(16)).slice(-8);
    return out;
  };
  window.discvaultSha256 = Sha256;

  var PIECE = 4 << 20;
  function hashFile(file, progress) {
    var sha = new Sha256(), at = 0;
    function next() {
      if (at >= file.size) return Promise.resolve(sha.hex());
      var end = Math.min(at + PIECE, file.size);
      return file.slice(at, end).arrayBuffer().then(function (b) {
        sha.update(new Uint8Array(b));
        at = end;
        progress(at);
        return next();
      });
    }
    return next();
  }

  // Ingest from the browser: the files chosen are hashed here, the upload made with the
  // form's collection and metadata (checked by the server as for a server folder), each file
  // sent (resumed from where the server has it if the connection broke) and the upload
  // committed; then the add task's page.
  function uploads() {
    var form = document.querySelector("form.ingest");
    if (!form) return;
    var inputs = [document.getElementById("upload-files"), document.getElementById("upload-folder")];
    var out = document.getElementById("ingest-result");
    var csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"];
    function chosen() {
      var list = [];
      inputs.forEach(function (i) {
        if (!i) return;
        for (var k = 0; k < i.files.length; k++) {
          var f = i.files[k];
          list.push({ file: f, path: f.webkitRelativePath || f.name });
        }
      });
      return list;
    }
    function say(text, failed) {
      out.textContent = "";
      var p = document.createElement("p");
      p.setAttribute("role", failed ? "alert" : "status");
      if (failed) p.className = "error";
      p.textContent = failed ? form.dataset.failed + " " + text : text;
      out.appendChild(p);
    }
    // An answer of the API: its JSON, or an error that says why (with the HTTP status, to
    // tell what a retry may mend). A redirect (the session ended: the login page) or a page
    // that is no JSON is an error too, never taken for an answer.
    function answer(r) {
      return r.text().then(function (t) {
        var body = null;
        try { body = JSON.parse(t); } catch (e) { body = null; }
        var json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (!r.ok || r.redirected || !json || body === null) {
          var why = body && body.error ? body.error : form.dataset.session + " (HTTP " + r.status + ")";
          var err = new Error(why);
          err.status = r.status;
          throw err;
        }
        return body;
      });
    }
    function api(method, url, body, headers) {
      var h = { "X-CSRF-Token": csrf };
      for (var k in headers || {}) h[k] = headers[k];
      return fetch(url, { method: method, headers: h, body: body, credentials: "same-origin" })
        .then(answer);
    }
    function later(ms) { return new Promise(function (done) { setTimeout(done, ms); }); }
    // One file's bytes: all of them first; after a failure that a retry may mend (the
    // connection, 409: the server still holds the broken body, 503: busy), from the bytes the
    // server has, after a pause that grows.
    function send(id, item, tries) {
      var url = "/api/v1/uploads/" + encodeURIComponent(id) + "/file?path=" + encodeURIComponent(item.path);
      function put(have) {
        var headers = { "Content-Type": "application/octet-stream" };
        if (have > 0) {
          headers["Content-Range"] = "bytes " + have + "-" + (item.file.size - 1) + "/" + item.file.size;
        }
        return api("PUT", url, item.file.slice(have), headers);
      }
      function retry(e, left, pause) {
        var mendable = e.status === undefined || e.status === 409 || e.status === 503;
        if (left <= 0 || !mendable) throw e;
        return later(pause).then(function () {
          return api("GET", "/api/v1/uploads/" + encodeURIComponent(id));
        }).then(function (u) {
          var have = 0, done = false;
          u.files.forEach(function (f) {
            if (f.path === item.path) { have = f.received; done = f.verified; }
          });
          return done ? null : put(have);
        }).catch(function (e2) { return retry(e2, left - 1, pause * 2); });
      }
      return put(0).catch(function (e) { return retry(e, tries, 1000); });
    }
    document.addEventListener("submit", function (ev) {
      if (ev.target !== form) return;
      var files = chosen();
      if (!files.length) return; // a server folder: the form goes as it is (htmx)
      ev.preventDefault();
      ev.stopImmediatePropagation();
      var button = form.querySelector("button[type=submit]");
      if (button.disabled) return;
      var seen = Object.create(null);
      for (var i = 0; i < files.length; i++) {
        if (seen[files[i].path]) { say(form.dataset.twice + " " + files[i].path, true); return; }
        seen[files[i].path] = true;
      }
      button.disabled = true;
      var manifest = [];
      var made = null;
      var chain = Promise.resolve();
      files.forEach(function (item, n) {
        chain = chain.then(function () {
          return hashFile(item.file, function (at) {
            say(form.dataset.hashing + " " + (n + 1) + "/" + files.length + ": " + item.path +
                " (" + Math.floor(100 * at / Math.max(item.file.size, 1)) + "%)");
          }).then(function (hex) {
            manifest.push({ path: item.path, size: item.file.size, sha256: hex });
          });
        });
      });
      chain.then(function () {
        var fields = new URLSearchParams(new FormData(form));
        fields.delete("folder");
        fields.set("manifest", JSON.stringify(manifest));
        return api("POST", "/ingest/upload", fields);
      }).then(function (upload) {
        if (!upload.upload_id) throw new Error(form.dataset.session);
        made = upload.upload_id;
        var sending = Promise.resolve();
        files.forEach(function (item, n) {
          sending = sending.then(function () {
            say(form.dataset.sending + " " + (n + 1) + "/" + files.length + ": " + item.path);
            return send(upload.upload_id, item, 3);
          });
        });
        return sending.then(function () {
          say(form.dataset.committing);
          return api("POST", "/api/v1/uploads/" + encodeURIComponent(upload.upload_id) + "/commit");
        });
      }).then(function (task) {
        window.location.href = "/tasks/" + encodeURIComponent(task.task_id);
      }).catch(function (e) {
        // An upload that failed is given up at once: its bytes are not kept waiting for days,
        // nor counted against the space of the next try.
        if (made) api("DELETE", "/api/v1/uploads/" + encodeURIComponent(made)).catch(function () {});
        button.disabled = false;
        say(e.message, true);
      });
    }, true);
  }
  function ready() { follow(); printing(); uploads(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
