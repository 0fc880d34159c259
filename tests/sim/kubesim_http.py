# SPDX-License-Identifier: Apache-2.0
"""HTTP layer of the Kubernetes API simulator: request parsing, routing,
authentication, content negotiation, watch streams, fault injection and
the /_sim/ test-control API."""

import json
import re
import select
import socket
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml

from kubesim_discovery import discovery
from kubesim_table import to_table
from kubesim_util import ApiError, dumps, error, loads, status_body
from kubesim_watch import Watch

API_HEADERS = (("Cache-Control", "no-cache, private"),)


class Faults:
    """Fault-injection rules (POST /_sim/faults)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def set(self, rules):
        with self.lock:
            self.rules = []
            for r in rules:
                r = dict(r)
                r.setdefault("count", -1)
                for k in ("path_regex", "user_agent_regex"):
                    if r.get(k):
                        r["_" + k] = re.compile(r[k])
                self.rules.append(r)

    def match(self, method, path, ua, is_watch):
        with self.lock:
            for r in self.rules:
                if r["count"] == 0:
                    continue
                if r.get("method") and r["method"].upper() != method:
                    continue
                if r.get("_path_regex") and not r["_path_regex"].search(path):
                    continue
                if r.get("_user_agent_regex") and \
                        not r["_user_agent_regex"].search(ua or ""):
                    continue
                watchy = any(k in r for k in ("watch_drop_after",
                                              "watch_gone", "chunk_delay_ms",
                                              "partial_chunks"))
                if watchy and not is_watch:
                    continue
                if r["count"] > 0:
                    r["count"] -= 1
                return r
        return None


def parse_accept(accept):
    """[(type, params dict)] in order of preference."""
    out = []
    for part in (accept or "*/*").split(","):
        bits = [b.strip() for b in part.split(";")]
        if not bits[0]:
            continue
        params = {}
        for b in bits[1:]:
            if "=" in b:
                k, v = b.split("=", 1)
                params[k.strip().lower()] = v.strip()
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 1.0
        out.append((bits[0].lower(), params, q))
    out.sort(key=lambda x: -x[2])
    return [(t, p) for t, p, _ in out]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubesim"

    # quiet: no default stderr logging
    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP,
                                       socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def send_response(self, code, message=None):
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())
        self._status = code

    @property
    def sim(self):
        return self.server.sim

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_OPTIONS(self):
        self._dispatch("OPTIONS")

    # ----------------------------------------------------------- plumbing
    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            return self.rfile.read(n)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        return b""

    def _record(self, status):
        if self._path.startswith("/_sim/"):
            return
        entry = {"method": self.command, "path": self._path,
                 "query": self._query_raw,
                 "user_agent": self.headers.get("User-Agent", ""),
                 "accept": self.headers.get("Accept", ""),
                 "status": status, "time": time.time()}
        with self.sim.req_lock:
            self.sim.requests.append(entry)
            if len(self.sim.requests) > 100000:
                del self.sim.requests[:10000]
        self.sim.log("%s %s%s -> %d (%s)" % (
            self.command, self._path, "?" + self._query_raw
            if self._query_raw else "", status, entry["user_agent"]))

    def _send(self, code, body, ctype="application/json", headers=(),
              api=True):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        if api:
            for k, v in API_HEADERS:
                self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for k, v in headers:
            self.send_header(k, v)
        # one write for headers and body (no Nagle/delayed-ACK stalls)
        if len(body) > 2048 and self.request_version == "HTTP/1.1":
            self.send_header("Transfer-Encoding", "chunked")
            self._headers_buffer.append(b"\r\n")
            if self.command != "HEAD":
                step = 1 << 20
                for i in range(0, len(body), step):
                    piece = body[i:i + step]
                    self._headers_buffer.append(b"%x\r\n%s\r\n"
                                                % (len(piece), piece))
                self._headers_buffer.append(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self._headers_buffer.append(b"\r\n")
            if self.command != "HEAD":
                self._headers_buffer.append(body)
        self.flush_headers()
        self._record(code)

    def _pretty(self):
        ua = self.headers.get("User-Agent", "")
        return ua.startswith("curl") or ua.startswith("Wget") or \
            self._q.get("pretty") in ("true", "1")

    def send_obj(self, code, obj, headers=(), fmt="json"):
        if fmt == "yaml":
            body = yaml.safe_dump(obj, default_flow_style=False,
                                  sort_keys=False).encode()
            return self._send(code, body, "application/yaml", headers)
        return self._send(code, dumps(obj, self._pretty()), headers=headers)

    def send_error(self, code, message=None, explain=None):
        # BaseHTTPRequestHandler's own errors (bad request line etc.)
        body = status_body(code, "BadRequest" if code == 400 else "",
                           message or "error")
        try:
            self._path = getattr(self, "_path", self.path or "")
            self._query_raw = getattr(self, "_query_raw", "")
            self.close_connection = True
            self._send(code, dumps(body))
        except Exception:
            pass

    def send_api_error(self, e, fmt="json"):
        if e.text is not None:
            return self._send(e.code, e.text,
                              "text/plain; charset=utf-8", e.headers.items(),
                              api=False)
        return self.send_obj(e.code, e.body, e.headers.items(), fmt)

    # ------------------------------------------------------------ dispatch
    def _dispatch(self, method):
        parts = urlsplit(self.path)
        self._path = unquote(parts.path) or "/"
        self._query_raw = parts.query
        self._q = dict(parse_qsl(parts.query, keep_blank_values=True))
        self._status = 0
        try:
            if self._path.startswith("/_sim/"):
                return self._sim_api(method)
            self._body = self._read_body()
            user = self._authenticate()
            if user is None:
                return self.send_api_error(error(401, "Unauthorized",
                                                 "Unauthorized"))
            is_watch = self._q.get("watch") in ("1", "true", "True")
            rule = self.sim.faults.match(method, self._path,
                                         self.headers.get("User-Agent"),
                                         is_watch)
            if rule is not None and self._apply_fault(rule):
                return
            self._fault = rule
            self._user = user
            self._route(method)
        except ApiError as e:
            self.send_api_error(e)
        except (ConnectionError, BrokenPipeError, TimeoutError):
            self.close_connection = True
        except Exception as e:  # a bug: answer 500 rather than hang
            import traceback
            traceback.print_exc()
            if not self._status:
                self.send_api_error(error(500, "InternalError",
                                          "Internal error occurred: %s" % e))

    def _authenticate(self):
        """Returns the user name, "system:anonymous", or None (401).
        "admin" and client-certificate users are cluster admins; users of
        --user-token have no permissions beyond discovery."""
        auth = self.headers.get("Authorization", "")
        token = self.sim.token
        if auth.lower().startswith("bearer "):
            tok = auth[7:].strip()
            if token is not None and tok == token:
                return "admin"
            if tok in self.sim.users:
                return self.sim.users[tok]
            if token is None and self.sim.ssl_ctx is None and \
                    not self.sim.users:
                return "admin"
            return None
        if self.sim.ssl_ctx is not None:
            try:
                cert = self.connection.getpeercert()
            except (AttributeError, ValueError):
                cert = None
            if cert:
                return "admin"   # signed by our CA: CN=admin,O=system:masters
        if token is None and self.sim.ssl_ctx is None and not self.sim.users:
            return "admin"
        return "system:anonymous"

    def _apply_fault(self, rule):
        """Returns True when the fault produced the whole answer."""
        if rule.get("delay_ms"):
            time.sleep(rule["delay_ms"] / 1000.0)
        if "status" in rule:
            body = rule.get("body")
            if body is None:
                body = status_body(rule["status"], "", "injected fault")
            hdrs = list((rule.get("headers") or {}).items())
            if isinstance(body, (dict, list)):
                self._send(rule["status"], dumps(body), headers=hdrs)
            else:
                self._send(rule["status"], str(body), headers=hdrs)
            return True
        if rule.get("invalid_json"):
            self._send(200, b'{"kind":"Status","apiVersion":"v1","metad')
            return True
        return False

    def _forbidden(self, verb, t, ns, name, sub):
        res = t.resource
        if verb in ("create", "list", "watch"):
            name = None
        what = '%s "%s"' % (res, name) if name else res
        scope = 'in the namespace "%s"' % ns if ns else "at the cluster scope"
        det = {}
        if name:
            det["name"] = name
        if t.group:
            det["group"] = t.group
        det["kind"] = t.plural
        raise error(403, "Forbidden", '%s is forbidden: User "%s" cannot %s '
                    'resource "%s" in API group "%s" %s'
                    % (what, self._user, verb, t.plural + ("/" + sub if sub
                                                           else ""),
                       t.group, scope), det)

    def _route(self, method):
        path = self._path.rstrip("/") or "/"
        segs = [s for s in path.split("/") if s]
        doc = discovery(self.sim, segs, self.headers.get("Host", ""))
        if doc is not None:
            if self._user == "system:anonymous" and segs and segs[0] not in (
                    "version", "healthz", "livez", "readyz"):
                raise error(403, "Forbidden", 'forbidden: User "system:'
                            'anonymous" cannot get path "%s"' % self._path,
                            {})
            return self._send_discovery(doc)
        if not segs or segs[0] not in ("api", "apis"):
            raise ApiError(404, None, text="404 page not found\n")
        if segs[0] == "api":
            if len(segs) < 2:
                raise ApiError(404, None, text="404 page not found\n")
            group, version, rest = "", segs[1], segs[2:]
        else:
            if len(segs) < 3:
                raise ApiError(404, None, text="404 page not found\n")
            group, version, rest = segs[1], segs[2], segs[3:]
        self._resource(method, group, version, rest)

    def _send_discovery(self, doc):
        if isinstance(doc, ApiError):
            raise doc
        fmt = self._negotiate(None, discovery_doc=True)
        self.send_obj(200, doc, fmt=fmt[0])

    def _negotiate(self, t, kind="object", discovery_doc=False):
        """Returns (fmt, as_kind or None, as_version)."""
        for typ, params in parse_accept(self.headers.get("Accept")):
            as_ = params.get("as")
            if typ in ("application/json", "application/*", "*/*",
                       "application/yaml", "application/json-patch+json"):
                fmt = "yaml" if typ == "application/yaml" else "json"
                if not as_:
                    return fmt, None, None
                if discovery_doc or params.get("g") != "meta.k8s.io" or \
                        params.get("v") not in ("v1", "v1beta1"):
                    continue
                if as_ == "Table":
                    return fmt, "Table", params["v"]
                if as_ == "PartialObjectMetadata" and kind in ("object",
                                                               "watch"):
                    return fmt, as_, params["v"]
                if as_ == "PartialObjectMetadataList" and kind in ("list",
                                                                   "watch"):
                    return fmt, as_, params["v"]
                if as_ == "PartialObjectMetadataList" and t is not None:
                    wrong = "*core.%s" % t.kind if t.builtin and not \
                        t.group else ("*%s.%s" % (t.group.split(".")[0],
                                                  t.kind) if t.builtin
                                      else "*unstructured.Unstructured")
                    raise ApiError(406, status_body(
                        406, "NotAcceptable", "you requested PartialObject"
                        "MetadataList, but the requested object is not a "
                        "list (%s)" % wrong))
        if not any(typ.startswith("application/") for typ, _ in
                   parse_accept(self.headers.get("Accept"))):
            raise ApiError(406, status_body(406, "NotAcceptable",
                                            "406: Not Acceptable", {}))
        raise ApiError(406, status_body(
            406, "NotAcceptable", "only the following media types are "
            "accepted: application/json, application/yaml, "
            "application/vnd.kubernetes.protobuf"))

    # -------------------------------------------------------- resources
    def _resource(self, method, group, version, rest):
        api = self.sim.api
        if not any(g == group and v == version for g, v, _ in api.types):
            raise ApiError(404, None, text="404 page not found\n")
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces" and \
                rest[2] not in ("status", "finalize"):
            ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiError(404, None, text="404 page not found\n")
        t = api.rtype(group, version, rest[0])
        if t is None or (ns is not None and not t.namespaced):
            raise ApiError(404, None, text="404 page not found\n")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if t.namespaced and name is not None and ns is None:
            raise ApiError(404, None, text="404 page not found\n")
        if not t.namespaced:
            ns = ""
        elif ns is None and method not in ("GET", "HEAD"):
            raise ApiError(405, status_body(
                405, "MethodNotAllowed", "the server does not allow this "
                "method on the requested resource", {}))
        ctx = (t, version, ns, name, sub)
        if t.plural == "selfsubjectaccessreviews" and method == "POST":
            return self._access_review(t, version)
        if self._user != "admin":
            verb = {"GET": "get" if name else "list", "POST": "create",
                    "PUT": "update", "PATCH": "patch",
                    "DELETE": "delete" if name else "deletecollection"}.get(
                        method, "get")
            if self._q.get("watch") in ("1", "true", "True"):
                verb = "watch"
            self._forbidden(verb, t, ns, name, sub)
        if method in ("GET", "HEAD"):
            if name is None:
                if self._q.get("watch") in ("1", "true", "True"):
                    return self._watch(*ctx)
                return self._list(*ctx)
            return self._get(*ctx)
        if method == "POST":
            if name is not None and t.builtin:
                raise ApiError(405, status_body(
                    405, "MethodNotAllowed", "the server does not allow "
                    "this method on the requested resource", {}))
            return self._create(*ctx)
        if method == "PUT":
            if name is None:
                raise error(400, "BadRequest", "name must be provided")
            return self._update(*ctx)
        if method == "PATCH":
            if name is None:
                raise error(400, "BadRequest", "name must be provided")
            return self._patch(*ctx)
        if method == "DELETE":
            if name is None:
                return self._delete_collection(*ctx)
            return self._delete(*ctx)
        raise ApiError(405, status_body(
            405, "MethodNotAllowed", "the server does not allow this method "
            "on the requested resource", {}))

    def _access_review(self, t, version):
        """SelfSubjectAccessReview (kubectl auth can-i): admins may do
        everything, other users nothing."""
        body = self._decode_body(t)
        if not isinstance(body, dict):
            raise error(400, "BadRequest", "the object provided is "
                        "unrecognized (must be of type %s)" % t.kind)
        out = {"kind": t.kind, "apiVersion": t.api_version(version),
               "metadata": {"creationTimestamp": None},
               "spec": body.get("spec") or {},
               "status": {"allowed": self._user == "admin"}}
        self.send_obj(201, out)

    def _check_sub(self, t, name, sub):
        if sub is None:
            return
        if sub == "status" and t.status_sub:
            return
        raise error(404, "NotFound", '%s "%s" not found' % (t.resource, name),
                    t.details(name))

    def _out(self, t, version, obj, as_, as_v):
        api = self.sim.api
        o = api.present(t, version, obj)
        if as_ == "PartialObjectMetadata":
            return {"kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/" + as_v,
                    "metadata": _meta_go_order(o["metadata"])}
        return o

    def _get(self, t, version, ns, name, sub):
        fmt, as_, as_v = self._negotiate(t, "object")
        self._check_sub(t, name, sub)
        if t.namespaced:
            pass
        obj = self.sim.api.get(t, ns, name)
        if as_ == "Table":
            tbl = to_table(self.sim.api, t, version, [obj], as_v,
                           self._q.get("includeObject"),
                           obj["metadata"].get("selfLink", ""),
                           obj["metadata"]["resourceVersion"], None)
            return self.send_obj(200, tbl, fmt=fmt)
        self.send_obj(200, self._out(t, version, obj, as_, as_v), fmt=fmt)

    def _list_doc(self, t, version, ns, items, meta, as_, as_v):
        link = t.base_path(version, ns if t.namespaced else "")
        if as_ == "PartialObjectMetadataList":
            lm = {"selfLink": link, "resourceVersion": meta["resourceVersion"]}
            # (1.19 drops remainingItemCount converting custom resources)
            for k in ("continue", "remainingItemCount"):
                if k in meta and (t.builtin or k == "continue"):
                    lm[k] = meta[k]
            return {"kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/" + as_v, "metadata": lm,
                    "items": [self._out(t, version, o,
                                        "PartialObjectMetadata", as_v)
                              for o in items]}
        present = self.sim.api.present
        objs = [present(t, version, o) for o in items]
        if t.builtin:
            lm = {"selfLink": link, "resourceVersion": meta["resourceVersion"]}
            for k in ("continue", "remainingItemCount"):
                if k in meta:
                    lm[k] = meta[k]
            return {"kind": t.list_kind, "apiVersion": t.api_version(version),
                    "metadata": lm,
                    "items": [{k: v for k, v in o.items()
                               if k not in ("kind", "apiVersion")}
                              for o in objs]}
        lm = {"continue": meta.get("continue", "")}
        if "remainingItemCount" in meta:
            lm["remainingItemCount"] = meta["remainingItemCount"]
        lm["resourceVersion"] = meta["resourceVersion"]
        lm["selfLink"] = link
        return {"apiVersion": t.api_version(version), "items": objs,
                "kind": t.list_kind, "metadata": lm}

    def _list(self, t, version, ns, name, sub):
        fmt, as_, as_v = self._negotiate(t, "list")
        items, meta = self.sim.api.list(
            t, version, ns if t.namespaced and ns else None, self._q)
        if as_ == "Table":
            link = t.base_path(version, ns if t.namespaced else "")
            tbl = to_table(self.sim.api, t, version, items, as_v,
                           self._q.get("includeObject"), link,
                           meta["resourceVersion"], meta)
            return self.send_obj(200, tbl, fmt=fmt)
        self.send_obj(200, self._list_doc(t, version, ns, items, meta, as_,
                                          as_v), fmt=fmt)

    def _decode_body(self, t):
        ctype = (self.headers.get("Content-Type") or
                 "application/json").split(";")[0].strip().lower()
        raw = self._body
        if ctype in ("application/json", ""):
            try:
                return loads(raw)
            except (ValueError, UnicodeDecodeError) as e:
                snippet = raw[:30].decode("utf-8", "replace")
                raise error(400, "BadRequest", "the object provided is "
                            "unrecognized (must be of type %s): couldn't get "
                            "version/kind; json parse error: %s (%s ...)"
                            % (t.kind, _go_json_err(e, raw), snippet))
        if ctype in ("application/yaml", "application/x-yaml"):
            try:
                doc = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader",
                                                    yaml.SafeLoader))
                return json.loads(json.dumps(doc, default=str))
            except yaml.YAMLError as e:
                raise error(400, "BadRequest", "the object provided is "
                            "unrecognized (must be of type %s): %s"
                            % (t.kind, e))
        raise error(415, "UnsupportedMediaType", "the body of the request "
                    "was in an unknown format - accepted media types "
                    "include: application/json, application/yaml, "
                    "application/vnd.kubernetes.protobuf")

    def _manager(self):
        m = self._q.get("fieldManager")
        if m:
            return m
        return (self.headers.get("User-Agent") or "unknown").split("/")[0]

    def _create(self, t, version, ns, name, sub):
        fmt, as_, as_v = self._negotiate(t, "object")
        if sub is not None:
            self._check_sub(t, name, None if sub == "status" else sub)
            raise error(405, "MethodNotAllowed", "the server does not allow "
                        "this method on the requested resource")
        body = self._decode_body(t)
        obj = self.sim.api.create(t, version, ns, body, self._q,
                                  manager=self._manager())
        self.send_obj(201, self._out(t, version, obj, as_, as_v), fmt=fmt)

    def _update(self, t, version, ns, name, sub):
        fmt, as_, as_v = self._negotiate(t, "object")
        self._check_sub(t, name, sub)
        body = self._decode_body(t)
        obj = self.sim.api.update(t, version, ns, name, body, self._q, sub,
                                  self._manager())
        self.send_obj(200, self._out(t, version, obj, as_, as_v), fmt=fmt)

    def _patch(self, t, version, ns, name, sub):
        fmt, as_, as_v = self._negotiate(t, "object")
        self._check_sub(t, name, sub)
        ctype = self.headers.get("Content-Type") or ""
        res = self.sim.api.patch(t, version, ns, name, ctype, self._body,
                                 self._q, sub, self._manager())
        code = 200
        if isinstance(res, tuple):
            res, code = res
        self.send_obj(code, self._out(t, version, res, as_, as_v), fmt=fmt)

    def _delete_opts(self):
        if not self._body.strip():
            return {}
        try:
            o = loads(self._body)
        except ValueError:
            raise error(400, "BadRequest", "invalid DeleteOptions body")
        return o if isinstance(o, dict) else {}

    def _delete(self, t, version, ns, name, sub):
        fmt, as_, as_v = self._negotiate(t, "object")
        if sub is not None:
            raise ApiError(405, status_body(
                405, "MethodNotAllowed", "the server does not allow this "
                "method on the requested resource", {}))
        res, code = self.sim.api.delete(t, version, ns, name,
                                        self._delete_opts(), self._q)
        if res.get("kind") != "Status":
            res = self._out(t, version, res, as_, as_v)
        self.send_obj(code, res, fmt=fmt)

    def _delete_collection(self, t, version, ns, name, sub):
        fmt, as_, as_v = self._negotiate(t, "list")
        api = self.sim.api
        q = dict(self._q)
        q.pop("limit", None)
        q.pop("continue", None)
        items, meta = api.list(t, version, ns if t.namespaced and ns
                               else None, q)
        done = []
        opts = self._delete_opts()
        for o in items:
            m = o["metadata"]
            try:
                res, _ = api.delete(t, version, m.get("namespace") or "",
                                    m["name"], opts, self._q)
                done.append(o if res.get("kind") == "Status" else res)
            except ApiError:
                pass
        meta = {"resourceVersion": str(api.store.rv)}
        self.send_obj(200, self._list_doc(t, version, ns, done, meta, as_,
                                          as_v), fmt=fmt)

    # ------------------------------------------------------------- watch
    def _watch(self, t, version, ns, name, sub):
        fmt, as_, as_v = self._negotiate(t, "watch")
        meta_only = as_ in ("PartialObjectMetadataList",
                            "PartialObjectMetadata")
        rule = self._fault
        w = Watch(self.sim.api, t, version, ns if t.namespaced and ns
                  else None, self._q)
        self.send_response(200)
        for k, v in API_HEADERS:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        # HTTP/1.0 clients get the raw stream, ended by closing
        self._raw = self.request_version != "HTTP/1.1"
        if not self._raw:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._record(200)
        # closed unless the stream ends cleanly (then keep-alive, like Go)
        self.close_connection = True
        sent = 0
        drop_after = rule.get("watch_drop_after") if rule else None
        if rule and rule.get("watch_gone"):
            self._chunk(w.gone_event(), rule)
            return self._end_chunks()
        stop = self.sim.stopping
        for ev in w.events(stop):
            if ev is None:
                if self._peer_gone():
                    return
                continue
            typ, obj = ev
            if as_ == "Table" and typ not in ("ERROR", "BOOKMARK"):
                obj = to_table(self.sim.api, t, version, [obj], as_v,
                               self._q.get("includeObject"),
                               t.base_path(version, ns if t.namespaced
                                           else ""),
                               obj["metadata"]["resourceVersion"], None)
            elif typ == "BOOKMARK" and meta_only:
                obj = {"kind": "PartialObjectMetadata",
                       "apiVersion": "meta.k8s.io/" + as_v,
                       "metadata": {"resourceVersion": obj["metadata"][
                           "resourceVersion"], "creationTimestamp": None}}
            elif typ not in ("ERROR", "BOOKMARK"):
                obj = self._out(t, version, obj,
                                "PartialObjectMetadata" if meta_only
                                else None, as_v)
            data = dumps({"type": typ, "object": obj})
            if not self._chunk(data, rule):
                return
            sent += 1
            if drop_after is not None and sent >= drop_after:
                # abrupt close, no terminating chunk
                self.wfile.flush()
                return
            if typ == "ERROR":
                break
        if self._end_chunks():
            self.close_connection = False

    def _peer_gone(self):
        """True when the watch client has closed its end (checked while the
        stream is idle, so abandoned watches do not hold a thread)."""
        sock = self.connection
        try:
            r, _, _ = select.select([sock], [], [], 0)
            if not r:
                return False
            if isinstance(sock, ssl.SSLSocket):
                return sock.recv(1) == b""
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _chunk(self, data, rule):
        try:
            if rule and (rule.get("partial_chunks") or
                         rule.get("chunk_delay_ms")):
                delay = (rule.get("chunk_delay_ms") or 0) / 1000.0
                step = 7 if rule.get("partial_chunks") else len(data)
                for i in range(0, len(data), step):
                    self._write_piece(data[i:i + step])
                    if delay:
                        time.sleep(delay)
            else:
                self._write_piece(data)
            return True
        except (OSError, ValueError):
            return False

    def _write_piece(self, piece):
        if getattr(self, "_raw", False):
            self.wfile.write(piece)
        else:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.flush()

    def _end_chunks(self):
        if getattr(self, "_raw", False):
            return False
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return True
        except (OSError, ValueError):
            return False

    # ---------------------------------------------------------- /_sim/
    def _sim_api(self, method):
        body = self._read_body() if method in ("POST", "PUT") else b""
        p = self._path
        sim = self.sim
        if p == "/_sim/requests" and method == "GET":
            with sim.req_lock:
                reqs = [{k: v for k, v in r.items() if k != "time"}
                        for r in sim.requests]
            return self._send(200, dumps(reqs))
        if p == "/_sim/reset-log" and method == "POST":
            with sim.req_lock:
                sim.requests = []
            return self._send(200, dumps({"ok": True}))
        if p == "/_sim/faults" and method in ("POST", "PUT"):
            try:
                d = json.loads(body or b"{}")
                rules = d.get("rules", []) if isinstance(d, dict) else d
                sim.faults.set(rules)
            except (ValueError, TypeError, re.error, AttributeError) as e:
                return self._send(400, dumps({"error": str(e)}))
            return self._send(200, dumps({"rules": len(sim.faults.rules)}))
        if p == "/_sim/faults" and method == "GET":
            with sim.faults.lock:
                rules = [{k: v for k, v in r.items() if not k.startswith("_")}
                         for r in sim.faults.rules]
            return self._send(200, dumps({"rules": rules}))
        if p == "/_sim/objects" and method == "GET":
            return self._send(200, dumps(self._dump_objects()))
        if p == "/_sim/load" and method == "POST":
            try:
                objs = json.loads(body)
                if isinstance(objs, dict):
                    objs = objs.get("items", [objs])
                n = sim.api.load(objs)
            except ApiError as e:
                return self._send(e.code, dumps(e.body))
            except (ValueError, TypeError) as e:
                return self._send(400, dumps({"error": str(e)}))
            return self._send(200, dumps({"loaded": n,
                                          "resourceVersion":
                                          str(sim.api.store.rv)}))
        if p == "/_sim/compact" and method == "POST":
            sim.api.store.compact()
            return self._send(200, dumps({"compacted":
                                          str(sim.api.store.compacted)}))
        if p == "/_sim/state" and method == "GET":
            st = sim.api.store
            return self._send(200, dumps({
                "resourceVersion": str(st.rv), "compacted": st.compacted,
                "events": len(st.events),
                "counts": {"%s/%s" % k if k[0] else k[1]: st.count(k)
                           for k in st.objs}}))
        return self._send(404, dumps({"error": "unknown /_sim/ endpoint"}))

    def _dump_objects(self):
        api = self.sim.api
        kind = self._q.get("kind")
        ns = self._q.get("namespace")
        out = []
        with api.store.cond:
            for skey in list(api.store.objs):
                t = api.by_skey.get(skey)
                if t is None:
                    continue
                if kind and kind.lower() not in (t.kind.lower(),
                                                 t.plural.lower(),
                                                 t.resource.lower()):
                    continue
                for _, _, o in api.store.items(skey, ns):
                    out.append(o)
        return out


def _meta_go_order(meta):
    from kubesim_util import order_meta
    return order_meta(meta)


def _go_json_err(e, raw):
    pos = getattr(e, "pos", None)
    if pos is not None and pos >= len(raw.rstrip()):
        return "unexpected end of JSON input"
    return "invalid character"
