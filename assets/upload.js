/*
 * Streams the chosen file to POST /api/upload as the raw request body (no base64, no
 * multipart), shows upload progress, then hands the server's answer (an upload id, or an
 * error message) to Dash through the data-upload-result store.
 */
(function () {
  "use strict";
  var INPUT = "data-upload-input";
  var ZONE = "data-upload-zone";
  var PROGRESS = "data-upload-progress";
  var RESULT = "data-upload-result";
  var SESSION = "shell-session";
  var BANNER = "shell-job-banner";

  var ACCEPT = ".csv,.tsv,.txt,.gz,.xlsx,.parquet";

  // Dash has no file-input component: keep one input outside React's tree; the drop zone
  // is a <label for="data-upload-input"> that opens it.
  function ensureInput() {
    if (!document.getElementById(INPUT)) {
      var input = document.createElement("input");
      input.type = "file";
      input.id = INPUT;
      input.accept = ACCEPT;
      input.className = "visually-hidden";
      input.setAttribute("aria-label", "Choose a data file to upload");
      document.body.appendChild(input);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ensureInput);
  } else {
    ensureInput();
  }

  function setProps(id, props) {
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(id, props);
    }
  }

  function sessionId() {
    try {
      return JSON.parse(window.sessionStorage.getItem(SESSION)) || "";
    } catch (e) {
      return "";
    }
  }

  function report(body) {
    body.t = Date.now();
    setProps(RESULT, { data: body });
  }

  function showProgress(value, label, visible) {
    setProps(PROGRESS, {
      value: value,
      label: label,
      className: visible ? "mt-2" : "mt-2 d-none",
    });
  }

  function mb(bytes) {
    return (bytes / 1048576).toFixed(1) + " MB";
  }

  function upload(file) {
    var zone = document.getElementById(ZONE);
    var banner = document.getElementById(BANNER);
    if (banner && !banner.classList.contains("d-none")) {
      report({ error: "Another job is still running. Wait for it to finish or cancel it first." });
      return;
    }
    var maxBytes = zone ? parseInt(zone.getAttribute("data-max-bytes"), 10) : 0;
    if (maxBytes && file.size > maxBytes) {
      report({
        error: "The file is larger than the " +
          Number(zone.getAttribute("data-max-mb")).toLocaleString("en") +
          " MB upload limit.",
        filename: file.name,
        status: 413,
      });
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/upload");
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-Session-Id", sessionId());
    xhr.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        var pct = Math.round((100 * e.loaded) / e.total);
        showProgress(pct, "Uploading " + mb(e.loaded) + " of " + mb(e.total), true);
      }
    };
    xhr.onload = function () {
      var body;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (e) {
        body = { error: "The server could not take the file (HTTP " + xhr.status + ")." };
      }
      body.filename = body.filename || file.name;
      showProgress(100, "Uploaded", false);
      report(body);
    };
    xhr.onerror = function () {
      showProgress(0, "", false);
      report({ error: "The upload failed: the connection to the server was lost.", status: 0 });
    };
    showProgress(0, "Uploading…", true);
    xhr.send(file);
  }

  document.addEventListener("change", function (e) {
    if (e.target && e.target.id === INPUT && e.target.files && e.target.files.length) {
      upload(e.target.files[0]);
      e.target.value = "";
    }
  });

  function zoneOf(e) {
    return e.target && e.target.closest ? e.target.closest("#" + ZONE) : null;
  }

  document.addEventListener("dragover", function (e) {
    var zone = zoneOf(e);
    if (zone) {
      e.preventDefault();
      zone.classList.add("di-dragover");
    }
  });
  document.addEventListener("dragleave", function (e) {
    var zone = zoneOf(e);
    if (zone) {
      zone.classList.remove("di-dragover");
    }
  });
  document.addEventListener("drop", function (e) {
    var zone = zoneOf(e);
    if (zone) {
      e.preventDefault();
      zone.classList.remove("di-dragover");
      if (e.dataTransfer && e.dataTransfer.files.length) {
        upload(e.dataTransfer.files[0]);
      }
    }
  });
})();
