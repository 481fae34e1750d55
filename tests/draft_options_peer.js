#!/usr/bin/env node
// One libzmq 4.3.5 socket (built with the draft API, through zeromq.js) driven over stdin/stdout, for
// tests/test_socket_options.py: the oracle for draft options pyzmq's libzmq lacks (ROUTER_NOTIFY,
// HELLO_MSG, DISCONNECT_MSG, HICCUP_MSG).
//   argv[2]: {"type": "Router", "options": {"97": 3, "110": "hello"}, "bind": "tcp://127.0.0.1:*"}
//            or {"connect": "tcp://..."}; string option values are set as bytes, numbers as int32
//   stdout:  {"endpoint": "..."} once ready, then one JSON line per request
//   stdin:   {"op": "recv", "timeout": ms} -> {"frames": [base64...]} or {"timeout": true}
//            {"op": "send", "frames": [base64...]} -> {"ok": true}
//            {"op": "close"} -> {"ok": true} and exit
"use strict"
const readline = require("readline")
const zmq = require("zeromq")

async function main() {
  const conf = JSON.parse(process.argv[2])
  const sock = new zmq[conf.type]()
  sock.linger = 0
  if (conf.reconnectInterval) sock.reconnectInterval = conf.reconnectInterval
  for (const [num, value] of Object.entries(conf.options || {})) {
    if (typeof value === "string") sock.setStringOption(Number(num), Buffer.from(value, "base64"))
    else sock.setInt32Option(Number(num), value)
  }
  if (conf.bind) await sock.bind(conf.bind)
  else sock.connect(conf.connect)
  const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n")
  out({endpoint: sock.lastEndpoint || conf.connect})
  const rl = readline.createInterface({input: process.stdin})
  for await (const line of rl) {
    const req = JSON.parse(line)
    if (req.op === "recv") {
      sock.receiveTimeout = req.timeout
      try {
        const msg = await sock.receive()
        out({frames: msg.map((b) => b.toString("base64"))})
      } catch (e) {
        if (e.code !== "EAGAIN") throw e
        out({timeout: true})
      }
    } else if (req.op === "send") {
      await sock.send(req.frames.map((f) => Buffer.from(f, "base64")))
      out({ok: true})
    } else if (req.op === "close") {
      sock.close()
      out({ok: true})
      process.exit(0)
    }
  }
}
main().catch((e) => { process.stderr.write(String(e && e.stack || e) + "\n"); process.exit(1) })
