// An echo server for the fuzzer on JeroMQ: java -cp jeromq.jar:. JeroEcho PORT [TYPE]
// REP, ROUTER, DEALER and PAIR sockets send every message back; other types only receive.
import java.util.ArrayList;
import java.util.List;

import org.zeromq.ZMQ;

public class JeroEcho {
    public static void main(String[] args) {
        int port = Integer.parseInt(args[0]);
        String type = args.length > 1 ? args[1].toUpperCase() : "REP";
        int t;
        switch (type) {
            case "ROUTER": t = ZMQ.ROUTER; break;
            case "DEALER": t = ZMQ.DEALER; break;
            case "PAIR": t = ZMQ.PAIR; break;
            case "PULL": t = ZMQ.PULL; break;
            case "SUB": t = ZMQ.SUB; break;
            default: t = ZMQ.REP;
        }
        boolean echo = t == ZMQ.REP || t == ZMQ.ROUTER || t == ZMQ.DEALER || t == ZMQ.PAIR;
        ZMQ.Context ctx = ZMQ.context(1);
        ZMQ.Socket s = ctx.socket(t);
        s.setLinger(0);
        if (t == ZMQ.SUB) s.subscribe(new byte[0]);
        s.bind("tcp://127.0.0.1:" + port);
        System.out.println("ready");
        System.out.flush();
        while (true) {
            List<byte[]> msg = new ArrayList<>();
            msg.add(s.recv(0));
            while (s.hasReceiveMore()) msg.add(s.recv(0));
            if (!echo) continue;
            for (int i = 0; i < msg.size(); i++) s.send(msg.get(i), i < msg.size() - 1 ? ZMQ.SNDMORE : 0);
        }
    }
}
