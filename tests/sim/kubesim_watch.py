# SPDX-License-Identifier: Apache-2.0
"""Watch cursors of the Kubernetes API simulator: initial ADDED replay,
events from a resourceVersion, selector enter/leave, bookmarks and the
410 "too old resource version" ERROR event."""

import time

from kubesim_store import (fields_match, labels_match, parse_field_selector,
                           parse_label_selector)
from kubesim_util import dumps, error, status_body

DEFAULT_TIMEOUT = 1800.0


class Watch:
    def __init__(self, api, t, version, ns, q, bookmark_interval=None):
        self.api = api
        self.t = t
        self.version = version
        self.ns = ns
        self.lsel = parse_label_selector(q.get("labelSelector"))
        self.fsel = parse_field_selector(q.get("fieldSelector"), t, version)
        if q.get("resourceVersionMatch"):
            causes = [("Forbidden: resourceVersionMatch is forbidden for "
                       "watch")]
            if not q.get("resourceVersion"):
                causes.append("Forbidden: resourceVersionMatch is forbidden"
                              " unless resourceVersion is provided")
            msg = ", ".join("resourceVersionMatch: " + c for c in causes)
            if len(causes) > 1:
                msg = "[" + msg + "]"
            raise error(422, "Invalid", 'ListOptions.meta.k8s.io "" is '
                        'invalid: ' + msg,
                        {"group": "meta.k8s.io", "kind": "ListOptions",
                         "causes": [{"reason": "FieldValueForbidden",
                                     "message": c,
                                     "field": "resourceVersionMatch"}
                                    for c in causes]})
        try:
            self.timeout = float(q.get("timeoutSeconds") or DEFAULT_TIMEOUT)
        except ValueError:
            raise error(400, "BadRequest", "invalid timeoutSeconds")
        if self.timeout <= 0:
            self.timeout = DEFAULT_TIMEOUT
        self.bookmarks = q.get("allowWatchBookmarks") in ("true", "1",
                                                          "True")
        self.interval = bookmark_interval or getattr(
            api, "bookmark_interval", 60.0)
        rv = q.get("resourceVersion") or ""
        st = api.store
        self.oldest = st.compacted + 1
        self.initial = []
        self.gone_rv = None
        with st.cond:
            if rv in ("", "0"):
                for _, _, o in st.items(t.storage, ns):
                    if self._match(o):
                        self.initial.append(("ADDED", o))
                self.idx = st.end_index()
                self.sent_rv = st.rv
            else:
                try:
                    n = int(rv)
                except ValueError:
                    raise error(400, "BadRequest", 'invalid resource '
                                'version: strconv.ParseUint: parsing "%s": '
                                'invalid syntax' % rv)
                self.idx = st.start_index(n)
                if self.idx is None or n < t.cache_start:
                    self.gone_rv = n
                    self.oldest = max(t.cache_start, st.compacted + 1)
                self.sent_rv = n
            self.compacted = st.compacted
        self.progress = self.sent_rv
        self.start_rv = self.sent_rv

    def _match(self, o):
        if o is None:
            return False
        m = o["metadata"]
        if self.ns is not None and (m.get("namespace") or "") != self.ns:
            return False
        if self.lsel and not labels_match(self.lsel, m.get("labels")):
            return False
        if self.fsel and not fields_match(self.fsel, o):
            return False
        return True

    def gone_obj(self, n=None):
        n = self.gone_rv if n is None else n
        oldest = max(self.oldest, self.api.store.compacted + 1)
        return status_body(410, "Expired", "too old resource version: %d "
                           "(%d)" % (n, oldest))

    def gone_event(self):
        return dumps({"type": "ERROR", "object": self.gone_obj(
            self.sent_rv)})

    def bookmark(self):
        t = self.t
        if t.builtin:
            obj = {"kind": t.kind, "apiVersion": t.api_version(self.version),
                   "metadata": {"resourceVersion": str(self.progress),
                                "creationTimestamp": None}}
        else:
            obj = {"apiVersion": t.api_version(self.version), "kind": t.kind,
                   "metadata": {"resourceVersion": str(self.progress)}}
        self.sent_rv = self.progress
        return ("BOOKMARK", obj)

    def _convert(self, ev):
        """(type, obj) for this watcher, or None when filtered out."""
        if ev.skey != self.t.storage:
            return None
        self.progress = max(self.progress, ev.rv)
        cur = self._match(ev.obj)
        if ev.type == "ADDED":
            out = ("ADDED", ev.obj) if cur else None
        elif ev.type == "DELETED":
            out = ("DELETED", ev.obj) if cur else None
        else:
            prev = self._match(ev.prev)
            if cur and prev:
                out = ("MODIFIED", ev.obj)
            elif cur:
                out = ("ADDED", ev.obj)
            elif prev:
                p = dict(ev.prev)
                p["metadata"] = dict(p["metadata"])
                p["metadata"]["resourceVersion"] = str(ev.rv)
                out = ("DELETED", p)
            else:
                out = None
        if out is not None:
            self.sent_rv = ev.rv
        return out

    def events(self, stop):
        """Yields (type, obj) events until the timeout; (ERROR, Status) for
        a too old resourceVersion; None as a keep-alive tick."""
        for e in self.initial:
            yield e
        self.initial = []
        if self.gone_rv is not None:
            yield ("ERROR", self.gone_obj())
            return
        st = self.api.store
        start = time.monotonic()
        deadline = start + self.timeout
        late_bm = deadline - 2.0 if self.bookmarks else None
        next_bm = start + self.interval if self.bookmarks else None
        while True:
            now = time.monotonic()
            if now >= deadline or stop.is_set():
                return
            if late_bm is not None and now >= late_bm:
                # 1.19: at deadline-2s, carrying the cache's (= global)
                # resourceVersion if it moved since the watch started
                late_bm = None
                self.progress = max(self.progress, st.rv)
                if self.progress > self.start_rv:
                    yield self.bookmark()
                continue
            if next_bm is not None and now >= next_bm:
                next_bm = now + self.interval
                self.progress = max(self.progress, st.rv)
                if self.progress > self.sent_rv:
                    yield self.bookmark()
                continue
            wake = [deadline]
            if late_bm is not None:
                wake.append(late_bm)
            if next_bm is not None:
                wake.append(next_bm)
            with st.cond:
                evs = st.events_from(self.idx)
                if evs is None:
                    gone = True
                else:
                    gone = False
                    if not evs:
                        if st.closed:
                            return
                        st.cond.wait(max(0.0, min(min(wake) - now, 1.0)))
                        evs = st.events_from(self.idx)
                        if evs is None:
                            gone = True
                    if evs:
                        self.idx += len(evs)
            if gone:
                yield ("ERROR", self.gone_obj(self.sent_rv))
                return
            for ev in evs or ():
                out = self._convert(ev)
                if out is not None:
                    yield out
            if not evs:
                yield None
