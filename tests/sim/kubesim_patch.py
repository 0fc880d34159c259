# SPDX-License-Identifier: Apache-2.0
"""Patch formats of the Kubernetes API simulator: JSON merge patch
(RFC 7386), JSON patch (RFC 6902), a strategic merge patch good enough for
the built-in kinds we serve, and a simplified server-side apply with field
ownership per manager."""

from kubesim_util import clone

# list fields merged by key in strategic merge patch / apply
MERGE_KEYS = {
    "containers": "name", "initContainers": "name",
    "ephemeralContainers": "name", "env": "name", "volumes": "name",
    "volumeMounts": "mountPath", "imagePullSecrets": "name",
    "conditions": "type", "hostAliases": "ip", "topologySpreadConstraints":
    "topologyKey", "tolerations": "key", "finalizers": None,
}


class PatchError(Exception):
    pass


def merge_patch(target, patch):
    """RFC 7386; target is modified in place when it is a dict."""
    if not isinstance(patch, dict):
        return clone(patch)
    if not isinstance(target, dict):
        target = {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge_patch(target.get(k), v)
    return target


def _unescape(tok):
    return tok.replace("~1", "/").replace("~0", "~")


def _walk(doc, pointer):
    """Returns (parent, last token) for a JSON pointer."""
    if pointer == "":
        raise PatchError("root")
    if not pointer.startswith("/"):
        raise PatchError("bad pointer")
    toks = [_unescape(t) for t in pointer[1:].split("/")]
    cur = doc
    for t in toks[:-1]:
        cur = _child(cur, t)
    return cur, toks[-1]


def _child(cur, t):
    if isinstance(cur, dict):
        if t not in cur:
            raise PatchError("missing " + t)
        return cur[t]
    if isinstance(cur, list):
        i = _index(cur, t, False)
        return cur[i]
    raise PatchError("not a container")


def _index(lst, t, allow_end):
    if t == "-" and allow_end:
        return len(lst)
    if not t.isdigit() or (len(t) > 1 and t[0] == "0"):
        raise PatchError("bad index")
    i = int(t)
    if i > len(lst) or (i == len(lst) and not allow_end):
        raise PatchError("index out of range")
    return i


def _get(doc, pointer):
    if pointer == "":
        return doc
    parent, t = _walk(doc, pointer)
    return _child(parent, t)


def _remove(doc, pointer):
    parent, t = _walk(doc, pointer)
    if isinstance(parent, dict):
        if t not in parent:
            raise PatchError("missing")
        return parent.pop(t)
    if isinstance(parent, list):
        return parent.pop(_index(parent, t, False))
    raise PatchError("not a container")


def _add(doc, pointer, value):
    if pointer == "":
        return value
    parent, t = _walk(doc, pointer)
    if isinstance(parent, dict):
        parent[t] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, t, True), value)
    else:
        raise PatchError("not a container")
    return doc


def json_patch(doc, ops):
    """RFC 6902 on a copy of doc; raises PatchError."""
    if not isinstance(ops, list):
        raise TypeError("json: cannot unmarshal object into Go value of "
                        "type jsonpatch.Patch")
    doc = clone(doc)
    for op in ops:
        if not isinstance(op, dict):
            raise PatchError("bad op")
        kind = op.get("op")
        path = op.get("path")
        if not isinstance(path, str):
            raise PatchError("missing path")
        if kind == "add":
            doc = _add(doc, path, clone(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            if path == "":
                doc = clone(op.get("value"))
            else:
                parent, t = _walk(doc, path)
                if isinstance(parent, list):
                    parent[_index(parent, t, False)] = clone(op.get("value"))
                else:
                    parent[t] = clone(op.get("value"))
        elif kind == "move":
            v = _remove(doc, op.get("from", ""))
            doc = _add(doc, path, v)
        elif kind == "copy":
            v = clone(_get(doc, op.get("from", "")))
            doc = _add(doc, path, v)
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError("test failed")
        else:
            raise PatchError("Unexpected kind: " + str(kind))
    return doc


def _merge_key(field, items):
    if field in MERGE_KEYS:
        k = MERGE_KEYS[field]
    elif field == "ports":
        k = "containerPort" if any(isinstance(i, dict) and "containerPort"
                                   in i for i in items) else "port"
    else:
        return None
    if k is None:
        return None
    if all(isinstance(i, dict) for i in items):
        return k
    return None


def strategic_merge(target, patch, field=None):
    """Strategic merge patch, simplified: maps merge, lists of objects with
    a known merge key merge by key ($patch: delete removes), primitive
    lists and other lists are replaced."""
    if not isinstance(patch, dict):
        return clone(patch)
    if patch.get("$patch") == "replace":
        p = {k: v for k, v in patch.items() if k != "$patch"}
        return clone(p)
    if not isinstance(target, dict):
        target = {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k.startswith("$retainKeys") \
                or k == "$patch":
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            name = k.split("/", 1)[1]
            if isinstance(target.get(name), list):
                target[name] = [x for x in target[name] if x not in v]
            continue
        if v is None:
            target.pop(k, None)
        elif isinstance(v, list) and isinstance(target.get(k), list):
            target[k] = _merge_list(target[k], v, k)
        elif isinstance(v, list):
            target[k] = [clone(x) for x in v
                         if not (isinstance(x, dict) and
                                 x.get("$patch") == "delete")]
        else:
            target[k] = strategic_merge(target.get(k), v, k)
    return target


def _merge_list(cur, patch, field):
    key = _merge_key(field, cur + patch)
    if key is None:
        return clone(patch)
    out = [clone(x) for x in cur]
    for item in patch:
        kv = item.get(key)
        idx = next((i for i, x in enumerate(out) if x.get(key) == kv), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(strategic_merge({}, item, None))
        else:
            out[idx] = strategic_merge(out[idx], item, None)
    return out


# ------------------------------------------------------ server-side apply

def leaf_paths(obj, prefix=(), field=None):
    """Set of field paths (tuples) of the leaves of obj; lists with a
    merge key are associative (element step ("key", value)), others atomic.
    """
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            out |= leaf_paths(v, prefix + (k,), k)
        return out
    if isinstance(obj, list) and obj:
        key = _merge_key(field, obj) if field else None
        if key is None and all(isinstance(i, dict) and "name" in i
                               for i in obj) and field != "args":
            key = "name"
        if key:
            for item in obj:
                step = ("[%s=%s]" % (key, _fmt(item.get(key))),)
                sub = {k: v for k, v in item.items() if k != key}
                if sub:
                    out |= leaf_paths(sub, prefix + step, None)
                else:
                    out.add(prefix + step)
            return out
    out.add(prefix)
    return out


def _fmt(v):
    if isinstance(v, str):
        return '"%s"' % v
    return str(v)


def path_string(p):
    s = ""
    for step in p:
        if step.startswith("["):
            s += step
        else:
            s += "." + step
    return s


def get_path(obj, p):
    """Value at a leaf path, or a sentinel when absent."""
    cur = obj
    for step in p:
        if step.startswith("["):
            key, val = step[1:-1].split("=", 1)
            if not isinstance(cur, list):
                return _ABSENT
            cur = next((i for i in cur if isinstance(i, dict) and
                        _fmt(i.get(key)) == val), _ABSENT)
            if cur is _ABSENT:
                return _ABSENT
        else:
            if not isinstance(cur, dict) or step not in cur:
                return _ABSENT
            cur = cur[step]
    return cur


_ABSENT = object()


def apply_merge(target, cfg, field=None):
    """Merge an applied configuration into target (in place)."""
    if not isinstance(cfg, dict) or not isinstance(target, dict):
        return clone(cfg)
    for k, v in cfg.items():
        if isinstance(v, list) and isinstance(target.get(k), list):
            key = _merge_key(k, v + target[k]) or (
                "name" if all(isinstance(i, dict) and "name" in i
                              for i in v + target[k]) and v else None)
            if key:
                out = target[k]
                for item in v:
                    idx = next((i for i, x in enumerate(out)
                                if x.get(key) == item.get(key)), None)
                    if idx is None:
                        out.append(clone(item))
                    else:
                        out[idx] = apply_merge(out[idx], item)
                continue
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            apply_merge(target[k], v, k)
        else:
            target[k] = clone(v)
    return target


def remove_path(obj, p):
    """Remove the leaf at path p (and empty parents it leaves behind)."""
    if not p:
        return
    parent = get_path(obj, p[:-1]) if len(p) > 1 else obj
    if parent is _ABSENT:
        return
    step = p[-1]
    if step.startswith("["):
        key, val = step[1:-1].split("=", 1)
        if isinstance(parent, list):
            parent[:] = [i for i in parent if not (
                isinstance(i, dict) and _fmt(i.get(key)) == val)]
    elif isinstance(parent, dict):
        parent.pop(step, None)
    if len(p) > 1 and parent in ({}, []):
        remove_path(obj, p[:-1])
