#!/usr/bin/env node
// Interop peer driver for libzmq 4.3.5 (built with the draft API) through zeromq.js 6.x: the matrix's
// JSON-lines control protocol over stdin/stdout, exactly as interop/peers/pyzmq_peer.py speaks it
// (see interop/README.md), plus the draft extensions:
//   send    {"routing_id": N}  (SERVER)   {"group": base64}  (RADIO)
//   recv -> {"routing_id": N}  (SERVER)   {"group": base64}  (DISH)
//   join / leave {"sock", "group": base64}  (DISH)
// Requests are handled one at a time, in order; every answer echoes the request's "id".
"use strict"

const readline = require("readline")
const zmq = require("zeromq")

let draft = null
try {
  draft = require("zeromq/draft")
} catch (e) {
  draft = null // a build without the draft API: draft socket types answer ENOTSUP
}

// ZMQ_CHANNEL and ZMQ_PEER have no class in zeromq.js: the generic Socket takes libzmq's number.
const CHANNEL = 20

const CLASSIC = {
  PAIR: () => new zmq.Pair(),
  PUB: () => new zmq.Publisher(),
  SUB: () => new zmq.Subscriber(),
  REQ: () => new zmq.Request(),
  REP: () => new zmq.Reply(),
  DEALER: () => new zmq.Dealer(),
  ROUTER: () => new zmq.Router(),
  PULL: () => new zmq.Pull(),
  PUSH: () => new zmq.Push(),
  XPUB: () => new zmq.XPublisher(),
  XSUB: () => new zmq.XSubscriber(),
}

const DRAFT = {
  SERVER: () => new draft.Server(),
  CLIENT: () => new draft.Client(),
  RADIO: () => new draft.Radio(),
  DISH: () => new draft.Dish(),
  GATHER: () => new draft.Gather(),
  SCATTER: () => new draft.Scatter(),
  CHANNEL: () => new zmq.Socket(CHANNEL),
}

// libzmq option numbers (zmq.h, zmq_draft.h) and how to set them
const BYTES_OPTS = {
  ROUTING_ID: 5, IDENTITY: 5, SUBSCRIBE: 6, UNSUBSCRIBE: 7,
  PLAIN_USERNAME: 45, PLAIN_PASSWORD: 46, CURVE_PUBLICKEY: 48, CURVE_SECRETKEY: 49, CURVE_SERVERKEY: 50,
  ZAP_DOMAIN: 55,
}
const INT_OPTS = {
  LINGER: 17, RECONNECT_IVL: 18, SNDHWM: 23, RCVHWM: 24, RCVTIMEO: 27, SNDTIMEO: 28,
  ROUTER_MANDATORY: 33, XPUB_VERBOSE: 40, IMMEDIATE: 39, PROBE_ROUTER: 51, REQ_CORRELATE: 52,
  REQ_RELAXED: 53, CONFLATE: 54, ROUTER_HANDOVER: 56, XPUB_NODROP: 69, XPUB_MANUAL: 71,
  INVERT_MATCHING: 74, HEARTBEAT_IVL: 75, XPUB_VERBOSER: 78, PLAIN_SERVER: 44, CURVE_SERVER: 47,
}

// A ZAP handler (RFC 27) for the mechanism cells: a Reply socket at inproc://zeromq.zap.01 in the
// default context (the one every socket here uses), admitting the configured PLAIN users and CURVE keys
// (Z85), as pyzmq_peer.py's ThreadAuthenticator does.
let zap = null

function z85encode(buf) {
  const chars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
  let out = ""
  for (let i = 0; i < buf.length; i += 4) {
    let value = buf.readUInt32BE(i)
    let chunk = ""
    for (let j = 0; j < 5; j++) {
      chunk = chars[value % 85] + chunk
      value = Math.floor(value / 85)
    }
    out += chunk
  }
  return out
}

async function serveZap(rep, passwords, keys) {
  for await (const msg of rep) {
    const [version, requestId, , , , mechanism] = msg
    let ok = false
    let user = ""
    if (mechanism.toString() === "PLAIN") {
      user = msg[6].toString()
      ok = passwords[user] !== undefined && passwords[user] === msg[7].toString()
    } else if (mechanism.toString() === "CURVE") {
      user = z85encode(msg[6])
      ok = keys.includes(user)
    } else {
      ok = true
    }
    await rep.send([version, requestId, ok ? "200" : "400", ok ? "OK" : "denied", ok ? user : "", ""])
  }
}

class PeerError extends Error {
  constructor(error, detail) {
    super(detail || error)
    this.error = error
    this.detail = detail || ""
  }
}

const socks = new Map()
const kinds = new Map() // sid -> type name
let nextId = 1

function sock(req) {
  const s = socks.get(req.sock)
  if (s === undefined) throw new PeerError("EBADSOCK", `no socket ${JSON.stringify(req.sock)}`)
  return s
}

const b64 = (s) => Buffer.from(s, "base64")

const ops = {
  hello() {
    const pkg = require("zeromq/package.json")
    return {
      impl: "libzmq",
      version: zmq.version,
      binding: `zeromq.js ${pkg.version}`,
      node: process.version,
      draft: Boolean(zmq.capability && zmq.capability.draft && draft),
    }
  },

  socket(req) {
    const name = req.type
    let make = CLASSIC[name]
    if (make === undefined && DRAFT[name] !== undefined) {
      if (draft === null) throw new PeerError("ENOTSUP", `${name}: zeromq.js built without the draft API`)
      make = DRAFT[name]
    }
    if (make === undefined) throw new PeerError("EINVAL", `unknown socket type ${name}`)
    const s = make()
    s.linger = 0
    const sid = nextId++
    socks.set(sid, s)
    kinds.set(sid, name)
    return {sock: sid}
  },

  setsockopt(req) {
    const s = sock(req)
    const name = req.opt
    if (name in BYTES_OPTS) {
      const value = b64(req.value)
      if (name === "SUBSCRIBE") s.subscribe(value)
      else if (name === "UNSUBSCRIBE") s.unsubscribe(value)
      else s.setStringOption(BYTES_OPTS[name], value)
    } else if (name in INT_OPTS) {
      s.setInt32Option(INT_OPTS[name], Number(req.value))
    } else {
      throw new PeerError("EINVAL", `unknown option ${name}`)
    }
    return {}
  },

  async bind(req) {
    const s = sock(req)
    await s.bind(req.endpoint)
    return {endpoint: s.lastEndpoint}
  },

  connect(req) {
    sock(req).connect(req.endpoint)
    return {}
  },

  join(req) {
    const s = sock(req)
    if (typeof s.join !== "function" || kinds.get(req.sock) !== "DISH") throw new PeerError("ENOTSUP", "join is for DISH")
    s.join(b64(req.group))
    return {}
  },

  leave(req) {
    const s = sock(req)
    if (typeof s.leave !== "function" || kinds.get(req.sock) !== "DISH") throw new PeerError("ENOTSUP", "leave is for DISH")
    s.leave(b64(req.group))
    return {}
  },

  async send(req) {
    const s = sock(req)
    // the native setter: a generic Socket (CHANNEL) has no sendTimeout property
    s.setInt32Option(INT_OPTS.SNDTIMEO, Number(req.timeout === undefined ? 1000 : req.timeout))
    const frames = req.frames.map(b64)
    const kind = kinds.get(req.sock)
    // multipart goes to libzmq as it is: its xsend answers EINVAL for these types
    const message = frames.length === 1 ? frames[0] : frames
    if (kind === "SERVER") {
      await s.send(message, {routingId: Number(req.routing_id || 0)})
    } else if (kind === "RADIO") {
      await s.send(message, {group: req.group === undefined ? Buffer.alloc(0) : b64(req.group)})
    } else if (kind in DRAFT) {
      await s.send(message)
    } else {
      await s.send(frames)
    }
    return {}
  },

  async recv(req) {
    const s = sock(req)
    const timeout = Number(req.timeout === undefined ? 1000 : req.timeout)
    s.setInt32Option(INT_OPTS.RCVTIMEO, timeout)
    let got
    try {
      got = await s.receive()
    } catch (e) {
      if (e.code === "EAGAIN") throw new PeerError("EAGAIN", `no message within ${timeout}ms`)
      throw e
    }
    const kind = kinds.get(req.sock)
    const out = {}
    if (kind === "SERVER" || kind === "DISH") {
      const [msg, props] = got
      out.frames = [Buffer.from(msg).toString("base64")]
      if (props && props.routingId !== undefined) out.routing_id = props.routingId
      if (props && props.group !== undefined) out.group = Buffer.from(props.group).toString("base64")
    } else {
      out.frames = got.map((f) => Buffer.from(f).toString("base64"))
    }
    return out
  },

  close(req) {
    const s = socks.get(req.sock)
    if (s !== undefined) {
      socks.delete(req.sock)
      kinds.delete(req.sock)
      s.linger = Number(req.linger || 0)
      s.close()
    }
    return {}
  },

  async auth(req) {
    if (zap === null) {
      zap = new zmq.Reply()
      zap.linger = 0
      await zap.bind("inproc://zeromq.zap.01")
      serveZap(zap, req.passwords || {}, req.curve_keys || []).catch(() => {})
    }
    return {}
  },

  auth_stop() {
    if (zap !== null) {
      zap.close()
      zap = null
    }
    return {}
  },

  exit() {
    ops.auth_stop()
    for (const s of socks.values()) {
      s.linger = 0
      s.close()
    }
    socks.clear()
    kinds.clear()
    return {}
  },
}

function write(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n")
}

async function main() {
  const rl = readline.createInterface({input: process.stdin, crlfDelay: Infinity, terminal: false})
  for await (const raw of rl) {
    const line = raw.trim()
    if (!line) continue
    let req
    try {
      req = JSON.parse(line)
    } catch (e) {
      write({id: null, ok: false, error: "EBADREQ", detail: `bad JSON: ${e.message}`})
      continue
    }
    const op = req.op || ""
    const resp = {id: req.id === undefined ? null : req.id}
    try {
      const handler = Object.prototype.hasOwnProperty.call(ops, op) ? ops[op] : undefined
      if (handler === undefined) throw new PeerError("EBADOP", `unknown op ${JSON.stringify(op)}`)
      Object.assign(resp, await handler(req))
      resp.ok = true
    } catch (e) {
      resp.ok = false
      if (e instanceof PeerError) {
        resp.error = e.error
        resp.detail = e.detail
      } else if (e && typeof e.code === "string" && e.code.startsWith("E")) {
        resp.error = e.code // zeromq.js errors carry libzmq's errno name
        resp.detail = e.message
      } else {
        resp.error = "EEXC"
        resp.detail = `${e && e.name}: ${e && e.message}`
      }
    }
    write(resp)
    if (op === "exit") break
  }
  // stdin closed or exit: nothing may keep the event loop alive
  for (const s of socks.values()) {
    s.linger = 0
    s.close()
  }
  process.exit(0)
}

main()
