/*
 * The Jira simulator's all.js: `AP` for a Connect app's page in an iframe.
 *
 * Like Atlassian's, it talks to the host page with postMessage: the host's origin is the
 * iframe URL's `xdm_e`, the channel its `xdm_c`. Every call is a request message with an
 * id; the host answers with the same id. Callbacks and promises are both supported.
 * Options come from the script tag's `data-options` ("resize:true", "sizeToParent:true").
 */
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var hostOrigin = params.get("xdm_e");
  var channel = params.get("xdm_c");
  var script = document.currentScript;
  var options = {};
  ((script && script.getAttribute("data-options")) || "").split(";").forEach(function (pair) {
    var parts = pair.split(":");
    if (parts[0]) options[parts[0].trim()] = (parts[1] || "").trim() !== "false";
  });
  var counter = 0;
  var waiting = {};

  function call(method, args) {
    if (!hostOrigin || window.parent === window) {
      return Promise.reject(new Error("AP: not inside a Jira page"));
    }
    return new Promise(function (resolve, reject) {
      var id = "ap-" + ++counter;
      waiting[id] = { resolve: resolve, reject: reject };
      window.parent.postMessage({ type: "ap-request", channel: channel, id: id, method: method, args: args || {} }, hostOrigin);
    });
  }

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || event.origin !== hostOrigin) return;
    var data = event.data || {};
    if (data.type !== "ap-response" || data.channel !== channel || !waiting[data.id]) return;
    var entry = waiting[data.id];
    delete waiting[data.id];
    if (data.error) entry.reject(data.error);
    else entry.resolve(data.result);
  });

  function xhrLike(answer) {
    return {
      status: answer.status,
      statusText: answer.statusText,
      responseText: answer.responseText,
      getResponseHeader: function (name) {
        return String(name).toLowerCase() === "content-type" ? answer.contentType : null;
      },
      getAllResponseHeaders: function () {
        return answer.contentType ? "content-type: " + answer.contentType + "\r\n" : "";
      },
    };
  }

  function request(urlOrOptions, more) {
    var o = typeof urlOrOptions === "string" ? Object.assign({ url: urlOrOptions }, more || {}) : Object.assign({}, urlOrOptions);
    var args = {
      url: o.url,
      type: (o.type || "GET").toUpperCase(),
      data: o.data === undefined || typeof o.data === "string" ? o.data : JSON.stringify(o.data),
      contentType: o.contentType,
      headers: o.headers || {},
    };
    return call("request", args).then(
      function (answer) {
        var xhr = xhrLike(answer);
        if (answer.status >= 200 && answer.status < 300) {
          if (o.success) o.success(answer.responseText, answer.statusText, xhr);
          return { body: answer.responseText, xhr: xhr };
        }
        if (o.error) o.error(xhr, "error", answer.statusText);
        throw { err: answer.statusText, xhr: xhr };
      },
      function (failure) {
        var xhr = xhrLike({ status: 0, statusText: "error", responseText: "", contentType: null });
        if (o.error) o.error(xhr, "error", failure && failure.message);
        throw { err: failure && failure.message, xhr: xhr };
      }
    );
  }

  function withCallback(promise, callback) {
    if (typeof callback === "function") {
      promise.then(callback, function () {
        callback(undefined);
      });
    }
    return promise;
  }

  var AP = {
    context: {
      getToken: function (callback) {
        return withCallback(
          call("getToken").then(function (r) {
            return r.token;
          }),
          callback
        );
      },
      getContext: function (callback) {
        return withCallback(call("getContext"), callback);
      },
    },
    user: {
      getCurrentUser: function (callback) {
        return withCallback(call("getCurrentUser"), callback);
      },
    },
    request: request,
    resize: function (width, height) {
      var h = height === undefined ? document.documentElement.scrollHeight : height;
      call("resize", { width: width, height: h });
    },
    sizeToParent: function () {
      call("sizeToParent");
    },
    dialog: {
      create: function (opts) {
        call("dialog.create", opts || {});
        return { on: function () {} };
      },
      close: function (data) {
        call("dialog.close", { data: data });
      },
    },
    flag: {
      create: function (opts) {
        call("flag.create", opts || {});
        return { close: function () {} };
      },
    },
    events: { on: function () {}, off: function () {}, emit: function () {} },
    theming: {
      // As Atlassian's: the host's colour mode lands on <html> as data-color-mode and
      // data-theme, which the app's CSS follows.
      initializeTheming: function () {
        return call("theming.initialize").then(function (theme) {
          var mode = theme && theme.colorMode === "dark" ? "dark" : "light";
          var root = document.documentElement;
          root.setAttribute("data-color-mode", mode);
          root.setAttribute("data-theme", "dark:dark light:light");
        });
      },
    },
  };
  window.AP = AP;

  if (options.sizeToParent) {
    AP.sizeToParent();
  } else if (options.resize !== false && typeof ResizeObserver === "function") {
    var last = 0;
    var queued = false;
    var report = function () {
      queued = false;
      var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
      if (height !== last) {
        last = height;
        call("resize", { height: height });
      }
    };
    var observer = new ResizeObserver(function () {
      if (!queued) {
        queued = true;
        requestAnimationFrame(report);
      }
    });
    var start = function () {
      observer.observe(document.documentElement);
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }
})();
