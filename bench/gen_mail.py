#!/usr/bin/env python3
"""gen_mail.py - write N realistic inbound help-desk messages into a Maildir (stdlib only).

For the live-mail benchmark: fill the support user's Dovecot Maildir of a test mail stack
(DIR/mail/<user>/Maildir, see tests/mailstack) and let IMAP clients fetch from it.

    gen_mail.py --count 5000 --to support1@example.test \
        --out DIR/mail/support1/Maildir [--customers 50] [--seed 1]

The mix is deterministic for a seed (same seed, same bytes):
  ~60% new requests from customerK@example.test: IT topics (printer, password reset, VPN, mail
       quota, laptop, software install, network outage, meeting-room AV, account access) and some
       bland ones; plain text, some multipart/alternative, some non-ASCII;
  ~15% threaded replies by the same customer: In-Reply-To/References name the thread's earlier
       Message-IDs, "Re:" subject, quoted text;
  ~10% HTML-only requests (tables, lists);
  ~10% requests with a base64 attachment of 10-100 KB (a fake PDF or a real PNG; with
       --no-attachments, plain new requests instead);
   ~5% auto-replies (Auto-Submitted: auto-replied, "Out of office").
Each message is written to tmp/ and renamed into new/ (as an MDA does), its file time set to its
Date. As root, files and any directory made are chowned to the `dovecot` user, like the rest of
the stack's mail tree. Prints a one-line summary of the mix.
"""
import argparse
import datetime
import os
import pwd
import random
import struct
import sys
import textwrap
import zlib
from email.message import EmailMessage
from email.policy import default as POLICY
from email.utils import format_datetime

KINDS = [("new", 0.60), ("reply", 0.15), ("html", 0.10), ("attachment", 0.10), ("auto", 0.05)]

FIRST = ["Anna", "Ben", "Carla", "David", "Elif", "Frank", "Grace", "Hiro", "Ines", "Jürgen",
         "Kofi", "Lena", "Mateo", "Nora", "Olga", "Pierre", "Quinn", "Rosa", "Sven", "Tanja",
         "Umar", "Vera", "Wei", "Xenia", "Yusuf", "Zoë", "Agnieszka", "Björn", "Chloé", "Dmitri"]
LAST = ["Schmidt", "Okafor", "García", "Nguyen", "Müller", "Rossi", "Kowalski", "Tanaka",
        "Johansson", "O'Brien", "Dubois", "Haddad", "Novak", "Silva", "Yılmaz", "Fischer",
        "Andersen", "Costa", "Ivanova", "Meyer"]
MAILERS = [
    ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.4.0"),
    ("X-Mailer", "Microsoft Outlook 16.0"),
    ("X-Mailer", "Apple Mail (2.3774.200.91.1.1)"),
    ("User-Agent", "Roundcube Webmail/1.6.9"),
    ("X-Mailer", "iPhone Mail (21G93)"),
    (None, None),  # webmail that adds nothing
]
MSGID_HOSTS = ["mail.gmail.com", "DB9PR04MB8123.eurprd04.prod.outlook.com", "example.test",
               "laptop-17.corp.example.test", "webmail.example.test"]
ROOMS = ["2.14", "3.02", "B-110", "Aquarium", "Boardroom", "Oslo", "Lisbon", "4th floor kitchen"]
PRINTERS = ["HP LaserJet M507", "Brother MFC-L8900", "Canon iR-ADV C5535", "Kyocera TASKalfa 3253ci"]
APPS = ["Adobe Acrobat Pro", "Visual Studio Code", "Zoom", "Slack", "AutoCAD 2025", "Python 3.12",
        "Tableau Desktop", "Microsoft Project", "GIMP", "R and RStudio"]
LAPTOPS = ["ThinkPad T14", "Dell Latitude 7440", "MacBook Pro 14\"", "HP EliteBook 840"]
ERRORS = ["0x80070005", "E-4021", "ERR_CONNECTION_TIMED_OUT", "809", "0x8004010F", "AADSTS50126"]

# (subject templates, body templates) per topic; {placeholders} are filled from the context.
TOPICS = {
    "printer": (
        ["Printer on floor {floor} not working", "Cannot print to the {printer}",
         "Printer jam again in room {room}", "printing stuck in queue"],
        ["The {printer} in room {room} shows \"{error}\" and nothing comes out. I have restarted it "
         "twice already. Could someone have a look? I need to print {pages} pages for a meeting "
         "at {hour}:00.",
         "Since this morning my print jobs stay in the queue forever. Other colleagues on "
         "floor {floor} have the same issue with the {printer}."]),
    "password": (
        ["Password reset please", "Forgot my password", "Locked out of my account after password "
         "change", "password expired - can't log in"],
        ["I changed my password yesterday and now I am locked out on every device. Can you reset "
         "it? My username is {login}.",
         "My password expired over the weekend and the reset link says \"{error}\". Please reset "
         "my password so I can log in again."]),
    "vpn": (
        ["VPN keeps disconnecting", "Cannot connect to VPN from home", "VPN error {error}",
         "VPN very slow since update"],
        ["When I work from home the VPN drops every {minutes} minutes with error {error}. My "
         "internet connection itself is fine (tested on {laptop}).",
         "Since the client update the VPN connects but nothing internal loads. Tried restarting "
         "the {laptop}, no change."]),
    "quota": (
        ["Mailbox full", "Email quota exceeded - cannot send", "Mailbox size warning",
         "Can you increase my email quota?"],
        ["I keep getting \"mailbox almost full\" warnings ({percent}% used) and now I cannot send "
         "mail anymore. I already emptied Deleted Items. Can the quota be increased?",
         "Outlook says my mailbox is over its limit. I need the old project mails for an audit, "
         "so deleting them is not an option."]),
    "laptop": (
        ["Laptop won't turn on", "New laptop request", "Laptop battery swelling",
         "Screen flickering on my {laptop}"],
        ["My {laptop} does not start anymore, the power LED blinks {blinks} times and then "
         "nothing. I have a customer presentation on {weekday}.",
         "The screen of my {laptop} flickers when I move the lid, and sometimes goes black. "
         "Could I get a loaner while it is repaired?"]),
    "software": (
        ["Software install request: {app}", "Please install {app}", "Need admin rights for {app}",
         "License for {app} expired"],
        ["Could you please install {app} on my {laptop}? I need it for the {project} project "
         "starting {weekday}. My manager approved it.",
         "{app} says the license has expired (\"{error}\"). I use it daily, please renew."]),
    "network": (
        ["Network outage on floor {floor}", "No internet in room {room}", "Wi-Fi down?",
         "Network very slow today"],
        ["Since about {hour}:{minute:02d} nobody on floor {floor} has network access, neither "
         "cable nor Wi-Fi. Phones work. This blocks {people} people.",
         "The Wi-Fi in room {room} keeps dropping, error {error}. Cable works fine."]),
    "av": (
        ["Conference room AV not working", "Projector in {room} broken",
         "No sound in meeting room {room}", "Video conference setup for {weekday}"],
        ["The projector in meeting room {room} shows \"no signal\" with every laptop we tried. "
         "We have a board meeting there at {hour}:00.",
         "Could someone set up the video conference equipment in {room} for {weekday}? We expect "
         "{people} external participants."]),
    "access": (
        ["Access to shared drive", "Account access request for new employee",
         "Cannot open the {project} folder", "Permission denied on SharePoint"],
        ["I need read/write access to the {project} share. I get \"access denied\" ({error}). "
         "My manager can confirm.",
         "Our new colleague starts on {weekday} and needs an account, a mailbox and access to "
         "the {project} drive."]),
    "bland": (
        ["Question", "Help please", "quick question", "Problem", "Following up", "Hi",
         "(no subject)", "Urgent!!"],
        ["I have a problem with my computer, it is not working properly. Can someone call me?",
         "Is this the right address for IT questions? Something is wrong since yesterday.",
         "Please help, it stopped working again."]),
}
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
PROJECTS = ["Atlas", "Nordwind", "Q3 audit", "Phoenix", "Customer portal", "Migration"]
GREETINGS = ["Hi,", "Hello,", "Dear IT team,", "Hi support,", "Good morning,", "Hallo,"]
CLOSINGS = ["Thanks,", "Thank you!", "Best regards,", "Cheers,", "Kind regards,", "Thanks in advance,"]
FOLLOWUPS = ["Any update on this? It is still not working.",
             "Thanks, that fixed it. You can close the ticket.",
             "I tried what you suggested but the problem is back.",
             "Adding a bit more detail: it only happens in the morning.",
             "Sorry to chase, but this is getting urgent now.",
             "It works again, thank you very much!"]


def context(rng):
    """Values for one message's {placeholders}, so its subject and body tell the same story."""
    return dict(
        floor=rng.randint(1, 9), room=rng.choice(ROOMS), printer=rng.choice(PRINTERS),
        error=rng.choice(ERRORS), pages=rng.randint(5, 200), hour=rng.randint(8, 17),
        minute=rng.randrange(0, 60, 5), minutes=rng.choice([5, 10, 15, 20, 30]),
        login="u%05d" % rng.randint(1, 99999), laptop=rng.choice(LAPTOPS),
        percent=rng.randint(90, 100), blinks=rng.randint(2, 7), weekday=rng.choice(WEEKDAYS),
        app=rng.choice(APPS), project=rng.choice(PROJECTS), people=rng.randint(3, 40))


def wrap(text):
    """Paragraphs wrapped at 72 columns, as mail clients send plain text."""
    return "\n\n".join(textwrap.fill(p, 72) for p in text.split("\n\n"))


class Gen:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.date = datetime.datetime(2025, 3, 3, 7, 30, tzinfo=datetime.timezone.utc)
        self.threads = []  # [customer, subject, [message ids], last body]
        self.names = {}

    def customer(self, k):
        if k not in self.names:
            r = random.Random("%s-%d" % (self.args.seed, k))
            self.names[k] = (r.choice(FIRST), r.choice(LAST), r.randrange(len(MAILERS)),
                             r.choice([0, 60, 60, 120, -300, 330]))
        return self.names[k]

    def headers(self, m, k, subject):
        first, last, mailer, offset = self.customer(k)
        self.date += datetime.timedelta(seconds=self.rng.randint(5, 240))
        local = self.date.astimezone(datetime.timezone(datetime.timedelta(minutes=offset)))
        addr = "customer%d@example.test" % k
        host = self.rng.choice(MSGID_HOSTS)
        msgid = "<%016x.%d@%s>" % (self.rng.getrandbits(64), self.n, host)
        m["Return-Path"] = "<%s>" % addr
        m["Delivered-To"] = self.args.to
        m["Received"] = ("from client%d.example.test (client%d.example.test [192.0.2.%d]) by "
                         "localhost (Postfix) with ESMTPS id %010X for <%s>; %s"
                         % (k, k, k % 250 + 1, self.rng.getrandbits(40), self.args.to,
                            format_datetime(self.date)))
        m["From"] = "%s %s <%s>" % (first, last, addr)
        m["To"] = "IT Service Desk <%s>" % self.args.to
        m["Subject"] = subject
        m["Date"] = format_datetime(local)
        m["Message-ID"] = msgid
        name, value = MAILERS[mailer]
        if name:
            m[name] = value
        return msgid, first

    def text(self, k, body):
        first = self.customer(k)[0]
        return "%s\n\n%s\n\n%s\n%s\n" % (self.greeting, wrap(body), self.closing, first)

    def topic(self):
        name = self.rng.choice(list(TOPICS))
        subjects, bodies = TOPICS[name]
        ctx = context(self.rng)
        return self.rng.choice(subjects).format(**ctx), self.rng.choice(bodies).format(**ctx)

    def request(self, kind):
        """A first message from a customer: plain/alternative, HTML-only or with an attachment."""
        k = self.rng.randint(1, self.args.customers)
        subject, body = self.topic()
        self.greeting, self.closing = self.rng.choice(GREETINGS), self.rng.choice(CLOSINGS)
        m = EmailMessage(policy=POLICY)
        msgid, first = self.headers(m, k, subject)
        text = self.text(k, body)
        if kind == "html":
            m.set_content(self.html(subject, body, first), subtype="html")
        elif kind == "attachment":
            m.set_content(text + "\nI attached a screenshot / the document.\n")
            self.attach(m)
        else:
            m.set_content(text)
            if self.rng.random() < 0.3:  # Outlook/Apple Mail style text + HTML
                m.add_alternative(self.html(subject, body, first, rich=False), subtype="html")
                kind = "alternative"
        self.threads.append([k, subject, [msgid], body])
        return m, kind

    def html(self, subject, body, first, rich=True):
        parts = ["<html><head><meta charset=\"utf-8\"><title>%s</title></head>"
                 "<body style=\"font-family:Calibri,sans-serif\">" % escape(subject),
                 "<p>%s</p><p>%s</p>" % (self.greeting, escape(body))]
        if rich:
            rows = "".join("<tr><td>%s</td><td>%s</td></tr>" % (escape(a), escape(b)) for a, b in [
                ("Device", self.rng.choice(LAPTOPS)), ("Room", self.rng.choice(ROOMS)),
                ("Error", self.rng.choice(ERRORS)), ("Since", self.rng.choice(WEEKDAYS))])
            parts.append("<table border=\"1\" cellpadding=\"4\"><tr><th>Item</th><th>Value</th>"
                         "</tr>%s</table>" % rows)
            steps = self.rng.sample(["Restarted the computer", "Logged out and in again",
                                     "Tried another cable", "Cleared the browser cache",
                                     "Asked a colleague", "Checked the power supply"], 3)
            parts.append("<p>What I tried:</p><ul>%s</ul>"
                         % "".join("<li>%s</li>" % escape(s) for s in steps))
        parts.append("<p>%s<br>%s</p></body></html>" % (self.closing, escape(first)))
        return "\n".join(parts) + "\n"

    def attach(self, m):
        size = self.rng.randint(10 * 1024, 100 * 1024)
        if self.rng.random() < 0.5:
            data = fake_pdf(self.rng, size)
            m.add_attachment(data, maintype="application", subtype="pdf",
                             filename="%s.pdf" % self.rng.choice(
                                 ["error_report", "Rechnung_2025-03", "screenshot", "access_form"]))
        else:
            data = png(self.rng, size)
            m.add_attachment(data, maintype="image", subtype="png",
                             filename="Screenshot %d.png" % self.rng.randint(1, 999))
        self.attachment_bytes += len(data)

    def reply(self):
        thread = self.rng.choice(self.threads)
        k, subject, ids, last = thread
        m = EmailMessage(policy=POLICY)
        msgid, first = self.headers(m, k, "Re: " + subject)
        m["In-Reply-To"] = ids[-1]
        m["References"] = " ".join(ids[-10:])
        follow = self.rng.choice(FOLLOWUPS)
        quoted = "\n".join((">" + " " * bool(line) + line) for line in wrap(last).splitlines())
        m.set_content("%s\n\n%s\n%s\n\nOn %s, %s wrote:\n%s\n"
                      % (wrap(follow), self.rng.choice(CLOSINGS), first,
                         self.date.strftime("%a, %d %b %Y"), first, quoted))
        ids.append(msgid)
        thread[3] = follow
        return m

    def auto_reply(self):
        k = self.rng.randint(1, self.args.customers)
        first, last, _, _ = self.customer(k)
        subject = self.rng.choice(["Out of office", "Automatic reply: Your request was received",
                                   "Out of Office: Re: Your help desk request",
                                   "Abwesenheitsnotiz"])
        m = EmailMessage(policy=POLICY)
        self.headers(m, k, subject)
        m["Auto-Submitted"] = "auto-replied"
        m["X-Autoreply"] = "yes"
        m["X-Auto-Response-Suppress"] = "All"
        m["Precedence"] = "auto_reply"
        back = (self.date + datetime.timedelta(days=self.rng.randint(2, 14))).strftime("%d %B")
        m.set_content("I am out of the office until %s with limited access to email.\n"
                      "For urgent matters please contact my colleague at the front desk.\n\n"
                      "%s %s\n" % (back, first, last))
        return m

    def run(self):
        a = self.args
        new_dir, tmp_dir = os.path.join(a.out, "new"), os.path.join(a.out, "tmp")
        made = makedirs(a.out, ["new", "cur", "tmp"])
        owner = dovecot_owner()
        if owner:
            for d in made:
                os.chown(d, *owner)
        # Exact shares, shuffled; a reply needs an earlier request, so none comes first.
        kinds = []
        for name, share in KINDS[1:]:
            if name != "attachment" or not a.no_attachments:
                kinds += [name] * round(a.count * share)
        kinds = kinds[:a.count]
        kinds += ["new"] * (a.count - len(kinds))
        self.rng.shuffle(kinds)
        counts = dict.fromkeys(["new", "alternative", "reply", "html", "attachment", "auto"], 0)
        self.attachment_bytes = 0
        total = 0
        pid = os.getpid()
        for n, kind in enumerate(kinds):
            self.n = n
            if kind == "reply" and not self.threads:
                kind = "new"
            if kind == "reply":
                m = self.reply()
            elif kind == "auto":
                m = self.auto_reply()
            else:
                m, kind = self.request(kind)
            counts[kind] += 1
            # Deterministic MIME boundaries (the email package would pick random ones).
            for part in m.walk():
                if part is not m:
                    del part["MIME-Version"]  # the email package repeats it in sub-parts
                if part.is_multipart():
                    part.set_boundary("------------%024x" % self.rng.getrandbits(96))
            raw = m.as_bytes()
            total += len(raw)
            ts = int(self.date.timestamp())
            name = "%d.M%dP%dQ%d.genmail,S=%d" % (ts, self.n, pid, self.n, len(raw))
            tmp = os.path.join(tmp_dir, name)
            with open(tmp, "wb") as f:
                f.write(raw)
            os.utime(tmp, (ts, ts))
            if owner:
                os.chown(tmp, *owner)
            os.rename(tmp, os.path.join(new_dir, name))
        print("wrote %d messages (%d bytes) to %s: %d new requests (%d of them text+HTML), "
              "%d replies, %d HTML-only, %d with attachments (%d KB), %d auto-replies; "
              "%d customers, seed %s"
              % (a.count, total, new_dir, counts["new"] + counts["alternative"],
                 counts["alternative"], counts["reply"], counts["html"], counts["attachment"],
                 self.attachment_bytes // 1024, counts["auto"], a.customers, a.seed))


def escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def fake_pdf(rng, size):
    """Something that starts and ends like a PDF, with an incompressible stream in between."""
    tail = b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    body = rng.randbytes(max(0, size - 150))
    head = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            + b"3 0 obj\n<< /Length " + str(len(body)).encode() + b" /Filter /FlateDecode >>\nstream\n")
    return head + body + tail


def png(rng, size):
    """A valid RGB PNG of noise, about `size` bytes."""
    width = 256
    height = max(1, size // (width * 3))
    raw = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


def makedirs(root, subs):
    """Creates root/sub for each sub (and missing parents); returns the directories it made."""
    made = []
    for path in [root] + [os.path.join(root, s) for s in subs]:
        missing = []
        p = os.path.abspath(path)
        while not os.path.exists(p):
            missing.append(p)
            p = os.path.dirname(p)
        for d in reversed(missing):
            os.mkdir(d, 0o700)
            made.append(d)
    return made


def dovecot_owner():
    """(uid, gid) of `dovecot` when running as root (the stack's mail belongs to it), else None."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam("dovecot")
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, required=True, help="number of messages")
    ap.add_argument("--to", required=True, help="recipient, e.g. support1@example.test")
    ap.add_argument("--out", required=True, help="the Maildir (new/, cur/, tmp/ are made)")
    ap.add_argument("--customers", type=int, default=50, help="senders customer1..N")
    ap.add_argument("--seed", default="1", help="random seed (same seed, same messages)")
    ap.add_argument("--no-attachments", action="store_true",
                    help="the attachments' share are plain new requests too (bench/scale.sh)")
    args = ap.parse_args()
    if args.count < 0 or args.customers < 1:
        sys.exit("gen_mail.py: --count must be >= 0 and --customers >= 1")
    if os.path.basename(os.path.normpath(args.out)) == "new":
        args.out = os.path.dirname(os.path.normpath(args.out))
    Gen(args).run()


if __name__ == "__main__":
    main()
