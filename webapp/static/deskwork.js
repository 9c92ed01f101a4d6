/* deskwork's own script: small, no framework, works offline.
 *
 * - Escape cancels a form (follows its Cancel link); Ctrl+Enter saves from a text area.
 *   Cancelling a form with changes typed into it asks first: nothing typed is lost by
 *   a stray key.
 * - A form is sent once: its buttons are disabled while it is on its way.
 * - Lookup fields are comboboxes: type, then pick with the arrow keys and Enter, or a click.
 * Every page works without it; the server checks everything again.
 */
(function () {
  "use strict";

  function snapshot(form) {
    var parts = [];
    new FormData(form).forEach(function (value, name) {
      parts.push(name + "=" + (typeof value === "string" ? value : value.name));
    });
    return parts.join("&");
  }

  var initial = new Map();
  document.querySelectorAll("form.record").forEach(function (form) {
    initial.set(form, snapshot(form));
  });

  function mayLeave(form) {
    if (!form || !initial.has(form)) return true;
    // A form sent back (errors, a conflict) holds typed input that is not saved yet.
    if (!form.hasAttribute("data-unsaved") && snapshot(form) === initial.get(form)) return true;
    return window.confirm("Discard what you typed into this form?");
  }

  function onCancelClick(event) {
    var cancel = event.target.closest && event.target.closest("[data-cancel]");
    if (cancel && !mayLeave(cancel.closest("form"))) event.preventDefault();
  }

  function onKeydown(event) {
    var form = event.target.closest && event.target.closest("form");
    if (event.key === "Escape" && !event.defaultPrevented) {
      var scope = form || document;
      var cancel = scope.querySelector("[data-cancel]");
      if (cancel) {
        event.preventDefault();
        if (mayLeave(cancel.closest("form"))) window.location.assign(cancel.href);
      }
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && form &&
               event.target.tagName === "TEXTAREA") {
      event.preventDefault();
      form.requestSubmit();
    }
  }

  function onSubmit(event) {
    var form = event.target;
    if (form.dataset.sending) {
      event.preventDefault(); // a second click while the first is on its way
      return;
    }
    form.dataset.sending = "1";
    // Disable after this tick, so the clicked button's own value still goes with the form.
    window.setTimeout(function () {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    }, 0);
    // A page restored from the back/forward cache must be usable again.
    window.addEventListener("pageshow", function () {
      delete form.dataset.sending;
      form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    }, { once: true });
  }

  // A served tool (deskwork serve): a form that changes something is sent once the server
  // answers its health page. While it does not (the network, a restart), the form stays
  // as typed, a note says so, and it is tried again every few seconds.
  var health = document.querySelector("meta[name=deskwork-health]");
  var HELD = "The server can't be reached: what you typed is kept here, and sent as soon " +
    "as it answers. Trying again every few seconds…";

  function onServedSubmit(event) {
    var form = event.target;
    if (!health || (form.getAttribute("method") || "get").toLowerCase() !== "post") return;
    if (form.dataset.reached) { delete form.dataset.reached; return; } // on to onSubmit
    event.preventDefault();
    event.stopImmediatePropagation();
    if (form.dataset.holding) return;
    form.dataset.holding = "1";
    var submitter = event.submitter || null;
    var note = null;
    var attempt = function () {
      var controller = new AbortController();
      var timer = window.setTimeout(function () { controller.abort(); }, 4000);
      fetch(health.content, { cache: "no-store", signal: controller.signal })
        .then(function (r) {
          window.clearTimeout(timer);
          if (!r.ok) throw new Error(String(r.status));
          delete form.dataset.holding;
          if (note) note.remove();
          form.dataset.reached = "1";
          try {
            if (form.requestSubmit) form.requestSubmit(submitter); else form.submit();
          } catch (error) { // the button clicked is gone: send the form without it
            form.submit();
          } finally {
            delete form.dataset.reached; // a form the browser would not send asks again
          }
        })
        .catch(function () {
          window.clearTimeout(timer);
          if (!note) {
            note = document.createElement("p");
            note.className = "error-summary";
            note.setAttribute("role", "alert");
            note.textContent = HELD;
            form.parentNode.insertBefore(note, form);
          }
          window.setTimeout(attempt, 3000);
        });
    };
    attempt();
  }

  function Lookup(box) {
    this.box = box;
    this.input = box.querySelector("input[role=combobox]");
    this.hidden = box.querySelector("input[type=hidden]");
    this.list = box.querySelector("[role=listbox]");
    this.url = box.dataset.url;
    this.active = -1;
    this.timer = null;
    this.asked = 0;
    this.input.addEventListener("input", this.onInput.bind(this));
    this.input.addEventListener("keydown", this.onKey.bind(this));
    this.input.addEventListener("blur", this.close.bind(this));
    this.list.addEventListener("mousedown", this.onPick.bind(this));
  }

  Lookup.prototype.onInput = function () {
    this.hidden.value = ""; // typed text is no longer the chosen row
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(this.search.bind(this), 120);
  };

  Lookup.prototype.search = function () {
    var self = this;
    var asked = ++this.asked;
    fetch(this.url + "?q=" + encodeURIComponent(this.input.value), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    }).then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) { if (asked === self.asked) self.show(rows); })
      .catch(function () { self.close(); });
  };

  Lookup.prototype.show = function (rows) {
    var self = this;
    this.list.textContent = "";
    rows.forEach(function (row, i) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = self.input.id + "-opt-" + i;
      li.dataset.id = row.id;
      li.textContent = row.label;
      self.list.appendChild(li);
    });
    if (!rows.length) {
      var none = document.createElement("li");
      none.className = "none";
      none.textContent = "No match";
      this.list.appendChild(none);
    }
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.move(rows.length ? 0 : -1);
  };

  Lookup.prototype.options = function () {
    return this.list.querySelectorAll("[role=option]");
  };

  Lookup.prototype.move = function (index) {
    var options = this.options();
    options.forEach(function (o) { o.removeAttribute("aria-selected"); });
    this.active = options.length ? (index + options.length) % options.length : -1;
    if (this.active >= 0) {
      options[this.active].setAttribute("aria-selected", "true");
      this.input.setAttribute("aria-activedescendant", options[this.active].id);
      options[this.active].scrollIntoView({ block: "nearest" });
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  };

  Lookup.prototype.choose = function (option) {
    this.hidden.value = option.dataset.id;
    this.input.value = option.textContent;
    this.close();
  };

  Lookup.prototype.close = function () {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    this.active = -1;
  };

  Lookup.prototype.onKey = function (event) {
    var open = !this.list.hidden;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) { this.search(); return; }
      this.move(this.active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && open && this.active >= 0) {
      event.preventDefault(); // Enter picks; the next Enter saves the form
      this.choose(this.options()[this.active]);
    } else if (event.key === "Escape" && open) {
      event.preventDefault(); // Escape closes the list first, cancels the form after
      this.close();
    }
  };

  Lookup.prototype.onPick = function (event) {
    var option = event.target.closest("[role=option]");
    if (option) {
      event.preventDefault(); // keep the focus in the input
      this.choose(option);
    }
  };

  // Table pages: a row opens its record wherever it is clicked (a link or button in it
  // does its own thing); the arrow keys move between rows, Enter opens the one focused.
  function rowOf(node) {
    var row = node.closest && node.closest("tr[data-href]");
    return row && row.closest("table.rows.open-rows") ? row : null;
  }

  function onRowClick(event) {
    var row = rowOf(event.target);
    if (!row || event.target.closest("a, button, input, label, select, textarea, td.pick")) {
      return;
    }
    if (window.getSelection && String(window.getSelection())) return; // copying text
    window.location.href = row.dataset.href;
  }

  function onRowKey(event) {
    var row = rowOf(event.target);
    if (!row || event.target !== row) return;
    var next = null;
    if (event.key === "ArrowDown") next = row.nextElementSibling;
    else if (event.key === "ArrowUp") next = row.previousElementSibling;
    else if (event.key === "Home") next = row.parentNode.firstElementChild;
    else if (event.key === "End") next = row.parentNode.lastElementChild;
    else if (event.key === "Enter") {
      event.preventDefault();
      window.location.href = row.dataset.href;
      return;
    } else return;
    event.preventDefault();
    if (next && next.dataset.href) {
      row.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
  }

  // A form opens with its first field ready for typing (or, sent back, the first field
  // that needs correcting).
  var record = document.querySelector("form.record");
  if (record && (!document.activeElement || document.activeElement === document.body)) {
    var first = record.querySelector("[aria-invalid=true]") || record.querySelector(
      "input:not([type=hidden]):not([readonly]):not([disabled]), select, textarea");
    if (first && first.focus) first.focus();
  }

  // A table page's count and totals, and the filters' counts, arrive after its rows.
  function fill(selector, value) {
    document.querySelectorAll(selector).forEach(function (node) { node.textContent = value; });
  }

  // In the native window, which drops downloads, an export is saved where the system's
  // save dialog says, with its progress shown here on every page until it is done.
  var exportBar = document.querySelector("[data-export-status]");
  if (exportBar) {
    var exportText = exportBar.querySelector("[data-export-text]");
    var exportProgress = exportBar.querySelector("progress");
    var exportCancel = exportBar.querySelector("button");
    var showExport = function (status) {
      var running = status.state === "running";
      exportBar.hidden = !status.text;
      exportBar.dataset.state = status.state;
      exportText.textContent = status.text;
      exportProgress.hidden = exportCancel.hidden = !running;
      if (!running) return;
      if (status.count) {
        exportProgress.max = Math.max(status.count, 1);
        exportProgress.value = status.done;
      } else {
        exportProgress.removeAttribute("value");
      }
      window.setTimeout(askExport, 300);
    };
    var exportFailed = function () {
      showExport({ state: "failed", text: "The export could not be asked for: try again." });
    };
    var askExport = function (address, method) {
      var headers = { Accept: "application/json" };
      var csrf = document.querySelector("meta[name=deskwork-csrf]");
      if (csrf) headers["X-CSRF-Token"] = csrf.content;
      fetch(address || exportBar.dataset.exportStatus,
            { method: method || "GET", headers: headers })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(showExport)
        .catch(exportFailed);
    };
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-export]");
      if (!link) return;
      event.preventDefault();
      showExport({ state: "asking", text: "Choose where to save " + link.textContent.replace(
        /^Export /, "the ") + "…" });
      askExport(link.href, "POST");
    });
    exportCancel.addEventListener("click", function () {
      askExport(exportBar.dataset.exportCancel, "POST");
    });
    askExport();
  }

  // A large import's check or save: how far it is, then on to what it found or did.
  var job = document.querySelector("[data-job-status]");
  if (job) {
    var jobText = job.querySelector("[data-job-text]");
    var jobProgress = job.querySelector("progress");
    var askJob = function () {
      fetch(job.dataset.jobStatus, { headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (status) {
          if (status.state !== "running") { window.location.replace(job.dataset.jobNext); return; }
          jobText.textContent = status.text;
          if (status.count) {
            jobProgress.max = Math.max(status.count, 1);
            jobProgress.value = status.done;
          }
          window.setTimeout(askJob, 300);
        })
        .catch(function () { window.setTimeout(askJob, 1000); });
    };
    askJob();
  }

  var summary = document.querySelector("[data-summary]");
  if (summary) {
    fetch(summary.dataset.summary, { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (found) {
        fill("[data-count]", found.text);
        Object.keys(found.totals).forEach(function (column) {
          fill('[data-total="' + column + '"]', found.totals[column]);
        });
      })
      .catch(function () { fill("[data-count]", "Rows couldn't be counted."); });
  }

  function showFacets(panel, counts) {
    Object.keys(counts).forEach(function (column) {
      var list = panel.querySelector('[data-facet-list="' + column + '"]');
      counts[column].forEach(function (entry) {
        var value = String(entry[0]), label = entry[1], n = entry[2];
        var slot = panel.querySelector('[data-facet="' + column + '"][data-value="' +
                                       CSS.escape(value) + '"]');
        if (!slot && list) { // a looked-up value not picked yet: offer it
          var item = document.createElement("label");
          var box = document.createElement("input");
          box.type = "checkbox"; box.name = column; box.value = value;
          item.appendChild(box);
          item.appendChild(document.createTextNode(" " + label + " "));
          slot = document.createElement("span");
          slot.className = "n"; slot.dataset.facet = column; slot.dataset.value = value;
          item.appendChild(slot);
          list.appendChild(item);
        }
        if (slot) slot.textContent = "(" + n.toLocaleString() + ")";
      });
    });
  }

  var filters = document.querySelector("details.filters[data-facets]");
  if (filters) {
    var asked = false;
    var askFacets = function () {
      if (asked || !filters.open) return;
      asked = true;
      fetch(filters.dataset.facets, { headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (counts) { showFacets(filters, counts); })
        .catch(function () { asked = false; });
    };
    filters.addEventListener("toggle", askFacets);
    askFacets();
  }

  // Rows ticked for a bulk action: one by one, a range with Shift, or the whole page.
  var bulk = document.getElementById("bulk");
  if (bulk) {
    var boxes = Array.prototype.slice.call(document.querySelectorAll('input[form="bulk"][name="id"]'));
    var everything = bulk.querySelector('input[name="_all"]');
    var pagePick = document.querySelector("[data-pick-page]");
    var lastTicked = -1;
    var count = function () {
      var ticked = boxes.filter(function (b) { return b.checked; }).length;
      var text = everything.checked ? "All rows that match are selected" :
        ticked ? ticked + " selected" : "Tick rows to act on them";
      bulk.querySelector("[data-selected]").textContent = text;
      if (pagePick) pagePick.checked = ticked > 0 && ticked === boxes.length;
    };
    boxes.forEach(function (box, index) {
      box.addEventListener("click", function (event) {
        if (event.shiftKey && lastTicked >= 0) {
          var low = Math.min(lastTicked, index), high = Math.max(lastTicked, index);
          for (var i = low; i <= high; i++) boxes[i].checked = box.checked;
        }
        lastTicked = index;
        count();
      });
    });
    if (pagePick) {
      pagePick.addEventListener("change", function () {
        boxes.forEach(function (b) { b.checked = pagePick.checked; });
        count();
      });
    }
    everything.addEventListener("change", count);
    count();
  }

  // After a save, the saved row is in view, highlighted, with the keyboard's focus.
  var saved = document.querySelector("table.rows tr.saved");
  if (saved) {
    saved.scrollIntoView({ block: "center" });
    if (saved.tabIndex === 0) saved.focus({ preventScroll: true });
  }

  var printing = function () {};  // what a live page does before it prints

  // Live pages (deskwork.live): when the data changes, the parts marked data-live are
  // put in place again from the page as it is now, keeping scroll position and focus.
  var events = document.body.dataset.events;
  if (events && document.querySelector("[data-live]") && window.EventSource) {
    var refreshing = false;
    var again = false;
    var keyOf = function (el) {
      return el.getAttribute("href") || el.id || el.getAttribute("name") || "";
    };
    var putInPlace = function (fresh) {
      document.querySelectorAll("[data-live]").forEach(function (part) {
        var next = fresh.getElementById(part.id);
        if (!next || next.innerHTML === part.innerHTML) return;
        var focused = part.contains(document.activeElement) ? keyOf(document.activeElement) : "";
        part.innerHTML = next.innerHTML;
        if (!focused) return;
        var same = Array.prototype.find.call(part.querySelectorAll("a, button, input, select"),
                                             function (el) { return keyOf(el) === focused; });
        if (same) same.focus({ preventScroll: true });
      });
    };
    var refresh = function () {
      if (refreshing) { again = true; return; }
      refreshing = true;
      fetch(window.location.href, { headers: { Accept: "text/html" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          putInPlace(new DOMParser().parseFromString(html, "text/html"));
          document.body.dataset.liveRefreshed = String(Number(document.body.dataset.liveRefreshed || 0) + 1);
        })
        .catch(function () {})
        .then(function () {
          refreshing = false;
          if (again) { again = false; refresh(); }
        });
    };
    // One stream for all of the tool's pages in this browser: the page holding the lock
    // listens and passes each change on to the others (a browser opens at most six
    // connections to one address; streams must not take them all).
    var since = document.body.dataset.eventsSince || "";
    // Named by the stream's address: two tools served from one origin keep apart.
    var channel = window.BroadcastChannel ? new BroadcastChannel("deskwork " + events) : null;
    var heard = function (id) {
      if (id && id === since) return;
      since = id || since;
      refresh();
    };
    var source = null;
    var listen = function () {
      source = new EventSource(events + "?since=" + encodeURIComponent(since));
      source.addEventListener("change", function (event) {
        if (channel) channel.postMessage(event.lastEventId);
        heard(event.lastEventId);
      });
      source.addEventListener("error", function () {
        // Refused (too many pages listening, or the tool restarting): the browser gives
        // up for good, so ask again a little later; dropped ones it retries by itself.
        if (source && source.readyState === EventSource.CLOSED) {
          source = null;
          window.setTimeout(listen, 15000);
        }
      });
    };
    // WebKit holds a print back while the page is still loading something, and an open
    // stream counts: it is closed for printing, and opened again afterwards.
    printing = function () {
      if (!source) return;
      source.close();
      source = null;
      window.addEventListener("afterprint", listen, { once: true });
    };
    if (channel && navigator.locks) {
      channel.onmessage = function (message) { heard(message.data); };
      navigator.locks.request("deskwork " + events, function () {
        listen();
        return new Promise(function () {});  // held while this page is open
      });
    } else {
      listen();
    }
  }

  // Print: the system's print dialog (it offers PDF too), with the print stylesheet; the
  // window's File menu asks for it through deskworkPrint too.
  window.deskworkPrint = function () {
    printing();
    window.print();
  };
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", window.deskworkPrint);
  });

  // A report's period: choosing a preset clears From and To; typing a day picks Custom.
  var params = document.querySelector("[data-report-params]");
  var period = params && params.querySelector("select[name=period]");
  if (period) {
    var days = params.querySelectorAll("input[name=start], input[name=end]");
    period.addEventListener("change", function () {
      if (period.value) days.forEach(function (input) { input.value = ""; });
    });
    days.forEach(function (input) {
      input.addEventListener("change", function () { if (input.value) period.value = ""; });
    });
  }

  document.addEventListener("click", onRowClick);
  document.addEventListener("keydown", onRowKey);
  document.addEventListener("keydown", onKeydown);
  document.addEventListener("click", onCancelClick);
  document.addEventListener("submit", onServedSubmit, true); // before onSubmit
  document.addEventListener("submit", onSubmit);
  document.querySelectorAll(".lookup").forEach(function (box) { new Lookup(box); });
})();
