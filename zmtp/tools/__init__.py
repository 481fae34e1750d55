"""Tools built on the sans-IO core: a capture reader (pcap/pcapng, TCP reassembly), a ZMTP dissector,
and a grammar-aware network fuzzer.  The ``zmtp`` command (:mod:`zmtp.cli`) drives them; they are plain
libraries too, so tests and other programs can use them directly."""
