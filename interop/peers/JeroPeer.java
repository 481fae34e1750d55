// Interop peer driver for JeroMQ: the JSON-lines control protocol over stdin/stdout
// (see interop/README.md). Needs only the JeroMQ jar on the classpath; the JSON reader
// below handles the small subset the driver sends (objects, arrays, strings, numbers, booleans).

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.zeromq.ZMQ;

public class JeroPeer {
    static final class PeerError extends RuntimeException {
        final String error;
        PeerError(String error, String detail) { super(detail); this.error = error; }
    }

    // ---- minimal JSON ----
    static final class Json {
        private final String s;
        private int i;
        Json(String s) { this.s = s; }

        static Object parse(String s) {
            Json j = new Json(s);
            Object v = j.value();
            j.ws();
            if (j.i != s.length()) throw new IllegalArgumentException("trailing data at " + j.i);
            return v;
        }

        private void ws() { while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++; }

        private Object value() {
            ws();
            char c = s.charAt(i);
            if (c == '{') return object();
            if (c == '[') return array();
            if (c == '"') return string();
            if (s.startsWith("true", i)) { i += 4; return Boolean.TRUE; }
            if (s.startsWith("false", i)) { i += 5; return Boolean.FALSE; }
            if (s.startsWith("null", i)) { i += 4; return null; }
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            String num = s.substring(start, i);
            if (num.isEmpty()) throw new IllegalArgumentException("bad JSON at " + start);
            if (num.contains(".") || num.contains("e") || num.contains("E")) return Double.parseDouble(num);
            return Long.parseLong(num);
        }

        private Map<String, Object> object() {
            Map<String, Object> m = new LinkedHashMap<>();
            i++;
            ws();
            if (s.charAt(i) == '}') { i++; return m; }
            while (true) {
                ws();
                String k = string();
                ws();
                if (s.charAt(i++) != ':') throw new IllegalArgumentException("expected : at " + (i - 1));
                m.put(k, value());
                ws();
                char c = s.charAt(i++);
                if (c == '}') return m;
                if (c != ',') throw new IllegalArgumentException("expected , at " + (i - 1));
            }
        }

        private List<Object> array() {
            List<Object> a = new ArrayList<>();
            i++;
            ws();
            if (s.charAt(i) == ']') { i++; return a; }
            while (true) {
                a.add(value());
                ws();
                char c = s.charAt(i++);
                if (c == ']') return a;
                if (c != ',') throw new IllegalArgumentException("expected , at " + (i - 1));
            }
        }

        private String string() {
            if (s.charAt(i) != '"') throw new IllegalArgumentException("expected string at " + i);
            i++;
            StringBuilder b = new StringBuilder();
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c != '\\') { b.append(c); continue; }
                char e = s.charAt(i++);
                switch (e) {
                    case 'n': b.append('\n'); break;
                    case 't': b.append('\t'); break;
                    case 'r': b.append('\r'); break;
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
                    default: b.append(e);
                }
            }
        }

        static String quote(String v) {
            StringBuilder b = new StringBuilder("\"");
            for (char c : v.toCharArray()) {
                if (c == '"' || c == '\\') b.append('\\').append(c);
                else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                else b.append(c);
            }
            return b.append('"').toString();
        }

        static String dump(Map<String, Object> m) {
            StringBuilder b = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<String, Object> e : m.entrySet()) {
                if (!first) b.append(", ");
                first = false;
                b.append(quote(e.getKey())).append(": ");
                Object v = e.getValue();
                if (v == null) b.append("null");
                else if (v instanceof String) b.append(quote((String) v));
                else if (v instanceof List) {
                    b.append('[');
                    boolean f2 = true;
                    for (Object o : (List<?>) v) {
                        if (!f2) b.append(", ");
                        f2 = false;
                        b.append(quote((String) o));
                    }
                    b.append(']');
                } else b.append(v.toString());
            }
            return b.append('}').toString();
        }
    }

    // ---- peer ----
    private final ZMQ.Context ctx = ZMQ.context(1);
    private final Map<Long, ZMQ.Socket> socks = new HashMap<>();
    private long nextId = 1;

    private static int socketType(String name) {
        switch (name) {
            case "PAIR": return ZMQ.PAIR;
            case "PUB": return ZMQ.PUB;
            case "SUB": return ZMQ.SUB;
            case "REQ": return ZMQ.REQ;
            case "REP": return ZMQ.REP;
            case "DEALER": return ZMQ.DEALER;
            case "ROUTER": return ZMQ.ROUTER;
            case "PULL": return ZMQ.PULL;
            case "PUSH": return ZMQ.PUSH;
            case "XPUB": return ZMQ.XPUB;
            case "XSUB": return ZMQ.XSUB;
            default: throw new PeerError("EINVAL", "unknown socket type " + name);
        }
    }

    private ZMQ.Socket sock(Map<String, Object> req) {
        Object id = req.get("sock");
        ZMQ.Socket s = id == null ? null : socks.get(((Number) id).longValue());
        if (s == null) throw new PeerError("EBADSOCK", "no socket " + id);
        return s;
    }

    private static int intArg(Map<String, Object> req, String key, int dflt) {
        Object v = req.get(key);
        return v == null ? dflt : ((Number) v).intValue();
    }

    private static String errname(int errno) {
        if (errno == zmq.ZError.EAGAIN) return "EAGAIN";
        if (errno == zmq.ZError.EHOSTUNREACH) return "EHOSTUNREACH";
        if (errno == zmq.ZError.EFSM) return "EFSM";
        if (errno == zmq.ZError.EINVAL) return "EINVAL";
        if (errno == zmq.ZError.EADDRINUSE) return "EADDRINUSE";
        if (errno == zmq.ZError.ETERM) return "ETERM";
        return "E" + errno;
    }

    private Map<String, Object> handle(String op, Map<String, Object> req) {
        Map<String, Object> r = new LinkedHashMap<>();
        Base64.Decoder dec = Base64.getDecoder();
        switch (op) {
            case "hello":
                r.put("impl", "jeromq");
                r.put("version", ZMQ.getVersionString());
                r.put("binding", "java " + System.getProperty("java.version"));
                return r;
            case "socket": {
                ZMQ.Socket s = ctx.socket(socketType((String) req.get("type")));
                s.setLinger(0);
                long id = nextId++;
                socks.put(id, s);
                r.put("sock", id);
                return r;
            }
            case "setsockopt": {
                ZMQ.Socket s = sock(req);
                String opt = (String) req.get("opt");
                Object v = req.get("value");
                switch (opt) {
                    case "ROUTING_ID": case "IDENTITY": s.setIdentity(dec.decode((String) v)); break;
                    case "SUBSCRIBE": s.subscribe(dec.decode((String) v)); break;
                    case "UNSUBSCRIBE": s.unsubscribe(dec.decode((String) v)); break;
                    case "LINGER": s.setLinger(((Number) v).longValue()); break;
                    case "SNDHWM": s.setSndHWM(((Number) v).longValue()); break;
                    case "RCVHWM": s.setRcvHWM(((Number) v).longValue()); break;
                    case "RECONNECT_IVL": s.setReconnectIVL(((Number) v).longValue()); break;
                    case "RECONNECT_IVL_MAX": s.setReconnectIVLMax(((Number) v).longValue()); break;
                    case "ROUTER_MANDATORY": s.setRouterMandatory(((Number) v).intValue() != 0); break;
                    case "XPUB_VERBOSE": s.setXpubVerbose(((Number) v).intValue() != 0); break;
                    default: throw new PeerError("ENOTSUP", "option " + opt + " not supported by this driver");
                }
                return r;
            }
            case "bind": {
                ZMQ.Socket s = sock(req);
                String ep = (String) req.get("endpoint");
                if (ep.endsWith(":*")) {
                    int port = s.bindToRandomPort(ep.substring(0, ep.length() - 2));
                    ep = ep.substring(0, ep.length() - 1) + port;
                } else {
                    s.bind(ep);
                }
                r.put("endpoint", ep);
                return r;
            }
            case "connect":
                sock(req).connect((String) req.get("endpoint"));
                return r;
            case "send": {
                ZMQ.Socket s = sock(req);
                s.setSendTimeOut(intArg(req, "timeout", 1000));
                List<?> frames = (List<?>) req.get("frames");
                for (int k = 0; k < frames.size(); k++) {
                    byte[] data = dec.decode((String) frames.get(k));
                    boolean more = k < frames.size() - 1;
                    boolean sent;
                    try {
                        sent = s.send(data, more ? ZMQ.SNDMORE : 0);
                    } catch (org.zeromq.ZMQException e) {
                        throw new PeerError(errname(e.getErrorCode()), "send of frame " + k + ": " + e);
                    }
                    if (!sent) {
                        int errno = s.base().errno();
                        throw new PeerError(errname(errno), "send of frame " + k + " failed");
                    }
                }
                return r;
            }
            case "recv": {
                ZMQ.Socket s = sock(req);
                s.setReceiveTimeOut(intArg(req, "timeout", 1000));
                byte[] first = s.recv(0);
                if (first == null) throw new PeerError("EAGAIN", "no message within timeout");
                List<String> out = new ArrayList<>();
                Base64.Encoder enc = Base64.getEncoder();
                out.add(enc.encodeToString(first));
                s.setReceiveTimeOut(1000);
                while (s.hasReceiveMore()) {
                    byte[] f = s.recv(0);
                    if (f == null) throw new PeerError("EPROTO", "missing continuation frame");
                    out.add(enc.encodeToString(f));
                }
                r.put("frames", out);
                return r;
            }
            case "close": {
                Object id = req.get("sock");
                ZMQ.Socket s = id == null ? null : socks.remove(((Number) id).longValue());
                if (s != null) {
                    s.setLinger(intArg(req, "linger", 0));
                    s.close();
                }
                return r;
            }
            case "exit":
                return r;
            default:
                throw new PeerError("EBADOP", "unknown op " + op);
        }
    }

    public static void main(String[] args) throws Exception {
        JeroPeer peer = new JeroPeer();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, "UTF-8");
        String line;
        while ((line = in.readLine()) != null) {
            if (line.trim().isEmpty()) continue;
            Map<String, Object> resp = new LinkedHashMap<>();
            String op = "";
            try {
                @SuppressWarnings("unchecked")
                Map<String, Object> req = (Map<String, Object>) Json.parse(line);
                resp.put("id", req.get("id"));
                op = String.valueOf(req.get("op"));
                resp.putAll(peer.handle(op, req));
                resp.put("ok", Boolean.TRUE);
            } catch (org.zeromq.ZMQException e) {
                resp.put("ok", Boolean.FALSE);
                resp.put("error", errname(e.getErrorCode()));
                resp.put("detail", e.toString());
            } catch (PeerError e) {
                resp.put("ok", Boolean.FALSE);
                resp.put("error", e.error);
                resp.put("detail", String.valueOf(e.getMessage()));
            } catch (Throwable e) {
                resp.put("ok", Boolean.FALSE);
                resp.put("error", "EEXC");
                resp.put("detail", e.toString());
            }
            out.println(Json.dump(resp));
            out.flush();
            if (op.equals("exit")) break;
        }
        // JeroMQ's term() waits for sockets; the process is going away anyway.
        System.exit(0);
    }
}
