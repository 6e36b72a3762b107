#!/usr/bin/env python3
"""gen_poison.py - write crafted hostile messages, one .eml per case, into a directory (stdlib only).

For bench/poison.sh: each file is built to find a slow path in parsing, threading, the rules or
the HTML converter. Deterministic: same arguments, same bytes.

    gen_poison.py OUT_DIR [--max-size BYTES]

Cases (file name: what it attacks):
  baseline            an ordinary request, for scale
  bounce_ids          a plain-text bounce from postmaster@ quoting 200,000 `Message-ID:` lines
                      (5.8 MB; the report of issue 12)
  rules_lines         5 MB of text, ordinary lines of near-matches of the default rules
                      ("conference" ... no support word within 40 characters, "network is ...")
  rules_one_line      5 MB of the same near-matches on one line with no newline
  rules_unicode       5 MB of Cyrillic/CJK words (non-ASCII defeats the regex engine's fast
                      Unicode word-boundary path) on long lines
  headers             10,000 header fields (half `X-Filler`, half distinct `Delivered-To`)
  recipients          10,000 To and 10,000 Cc addresses and 10,000 References ids
  mime_wide           multipart/mixed with 1,000 parts (text and small attachments)
  mime_deep           multipart nested 1,000 deep
  html_mixed_case     one HTML part with 5,000 tables spelt `<TaBlE>` (under the lower/upper guard)
  html_many_parts     60 HTML parts of ~500 KB, each with 190 nested tables: every part under
                      the per-part guard, all of them far over it
  max_size            a text message of --max-size bytes (default 64 MiB, the default
                      inbound.max_message_size), minus a little room for the header
"""
import argparse
import os

HEADER = (
    "From: {frm}\r\n"
    "To: support@example.test\r\n"
    "Subject: {subject}\r\n"
    "Date: Mon, 07 Dec 2026 09:00:00 +0000\r\n"
    "Message-ID: <{name}@poison.example.test>\r\n"
    "MIME-Version: 1.0\r\n"
)


def head(name, subject, frm="Carla Customer <carla@customer.example.test>", extra=""):
    return HEADER.format(frm=frm, subject=subject, name=name) + extra


def plain(name, subject, body, frm="Carla Customer <carla@customer.example.test>", extra=""):
    return (
        head(name, subject, frm, extra)
        + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body
    ).encode()


def fill(unit, size, sep=""):
    """`unit` repeated (with `sep`) to about `size` bytes."""
    n = max(1, size // (len(unit.encode()) + len(sep)))
    return sep.join([unit] * n)


def baseline():
    body = "Hello,\r\n\r\nthe printer in room 12 is jammed again and prints nothing.\r\n\r\nCarla\r\n"
    return plain("baseline", "Printer jammed in room 12", body)


def bounce_ids():
    lines = ["Sorry, I could not deliver your messages.", ""]
    lines += ["Message-ID: <%06d@mx.test>" % i for i in range(200_000)]
    return plain(
        "bounce-ids",
        "Undelivered Mail Returned to Sender",
        "\r\n".join(lines) + "\r\n",
        frm="postmaster@mx.example.test",
    )


# Near-matches: words that start many default patterns but never complete one.
NEAR = (
    "conference on the annual schedule of the regional offices and the people who "
    "attend it every year for reasons that nobody explains to anybody here. "
    "network is mostly fine; server is mostly fine; the lab is open, "
)


def rules_lines():
    return plain("rules-lines", "A long letter", fill(NEAR, 5 << 20, "\r\n"))


def rules_one_line():
    # No newline at all: `[^.\n]{0,40}` spans stay open as long as there is no full stop.
    unit = NEAR.replace(".", ",").replace(";", ",")
    return plain("rules-one-line", "A long letter", fill(unit, 5 << 20, " "))


def rules_unicode():
    unit = "конференция сеть сервер лаборатория принтер работает 会议 网络 服务器 "
    line = fill(unit, 20_000, "")
    return plain("rules-unicode", "Письмо", fill(line, 5 << 20, "\r\n"))


def headers():
    fields = []
    for i in range(10_000):
        if i % 2:
            fields.append("Delivered-To: person%d@customer.example.test\r\n" % i)
        else:
            fields.append("X-Filler-%d: %s\r\n" % (i, "x" * 40))
    return plain("headers", "Many header fields", "Hello.\r\n", extra="".join(fields))


def recipients():
    to = ",\r\n ".join("p%d@customer.example.test" % i for i in range(10_000))
    cc = ",\r\n ".join("c%d@customer.example.test" % i for i in range(10_000))
    refs = "\r\n ".join("<ref.%d@elsewhere.example.test>" % i for i in range(10_000))
    extra = "Cc: %s\r\nReferences: %s\r\n" % (cc, refs)
    raw = plain("recipients", "To everyone", "Hello all.\r\n", extra=extra)
    # The To of the header template names only support@; add the crowd after it.
    return raw.replace(b"To: support@example.test\r\n", b"To: support@example.test,\r\n " + to.encode() + b"\r\n", 1)


def mime_wide():
    b = "wide-boundary"
    parts = []
    for i in range(1_000):
        if i % 2:
            parts.append(
                "--%s\r\nContent-Type: application/octet-stream\r\n"
                "Content-Disposition: attachment; filename=\"f%d.bin\"\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n" % (b, i, "QUJDRA==" * 10)
            )
        else:
            parts.append("--%s\r\nContent-Type: text/plain\r\n\r\npart %d: the printer is jammed\r\n" % (b, i))
    body = "".join(parts) + "--%s--\r\n" % b
    return (head("mime-wide", "Wide MIME") + 'Content-Type: multipart/mixed; boundary="%s"\r\n\r\n' % b + body).encode()


def mime_deep():
    depth = 1_000
    out = []
    for i in range(depth):
        out.append('Content-Type: multipart/mixed; boundary="d%d"\r\n\r\n--d%d\r\n' % (i, i))
    out.append("Content-Type: text/plain\r\n\r\nthe innermost part\r\n")
    for i in reversed(range(depth)):
        out.append("--d%d--\r\n" % i)
    return (head("mime-deep", "Deep MIME") + "".join(out)).encode()


def html(name, subject, parts):
    if len(parts) == 1:
        ct = "Content-Type: text/html; charset=utf-8\r\n\r\n"
        return (head(name, subject) + ct + parts[0]).encode()
    b = "html-boundary"
    body = "".join("--%s\r\nContent-Type: text/html; charset=utf-8\r\n\r\n%s\r\n" % (b, p) for p in parts)
    body += "--%s--\r\n" % b
    return (head(name, subject) + 'Content-Type: multipart/mixed; boundary="%s"\r\n\r\n' % b + body).encode()


def html_mixed_case():
    table = "<TaBlE><TR><TD>cell</TD><TD>more</TD></TR></TaBlE>\r\n"
    return html("html-mixed-case", "Tables", ["<html><body>" + table * 5_000 + "</body></html>"])


def html_many_parts():
    # Each part: 190 tables nested in each other (under 200 tables, depth under 256), padded
    # with text to just under 512 KiB.
    nested = "<table><tr><td>" * 190 + "x" + "</td></tr></table>" * 190
    pad = "<p>" + fill("padding text ", (500 << 10) - len(nested), "") + "</p>"
    part = "<html><body>" + nested + pad + "</body></html>"
    return html("html-many-parts", "Many HTML parts", [part] * 60)


def max_size(size):
    header = plain("max-size", "A very large message", "")
    line = "Lorem ipsum dolor sit amet, the printer prints, the network works, nobody is here.\r\n"
    body = fill(line, size - len(header) - 1024, "")
    return header + body.encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--max-size", type=int, default=64 << 20)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = [
        ("baseline", baseline),
        ("bounce_ids", bounce_ids),
        ("rules_lines", rules_lines),
        ("rules_one_line", rules_one_line),
        ("rules_unicode", rules_unicode),
        ("headers", headers),
        ("recipients", recipients),
        ("mime_wide", mime_wide),
        ("mime_deep", mime_deep),
        ("html_mixed_case", html_mixed_case),
        ("html_many_parts", html_many_parts),
        ("max_size", lambda: max_size(args.max_size)),
    ]
    for name, make in cases:
        raw = make()
        with open(os.path.join(args.out, name + ".eml"), "wb") as f:
            f.write(raw)


if __name__ == "__main__":
    main()
