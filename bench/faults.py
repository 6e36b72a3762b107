"""Faults and floods, measured against a running mail stack (see bench/faults.sh, which starts
the stack and exports its stack.env). Stdlib only. Prints one line per figure; asserts nothing
on time, but says plainly when mail was lost or duplicated."""

import argparse
import calendar
import email.utils
import imaplib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

E = os.environ
HOST = "127.0.0.1"
IMAP_PORT = int(E["IMAP_PORT"])
SMTP_PORT = int(E["SMTP_PORT"])


def config(work, name, user, inbound=None, extra=""):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    inbound = inbound or (
        f'kind = "imap"\nhost = "{HOST}"\nport = {IMAP_PORT}\nsecurity = "none"\n'
        f'username = "{user}"\npassword = "{user}pw"\n'
    )
    path = os.path.join(d, "helpdesk.toml")
    with open(path, "w") as f:
        f.write(
            f'[helpdesk]\naddress = "{user}@example.test"\nname = "IT Service Desk"\n{extra}\n'
            f'[database]\nurl = "sqlite:state/helpdesk.db"\n'
            f"[inbound]\n{inbound}\n"
            f'[outbound]\nkind = "smtp"\nhost = "{HOST}"\nport = {SMTP_PORT}\nsecurity = "none"\n'
        )
    return path


class Daemon:
    def __init__(self, binary, cfg):
        self.log = os.path.join(os.path.dirname(cfg), "daemon.log")
        env = dict(E, HELPDESK_LOG="info", HELPDESK_SLA__DIGEST="off")
        self.p = subprocess.Popen(
            [binary, "--config", cfg, "run"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "w"),
            env=env,
        )

    def text(self):
        return open(self.log).read()

    def wait_log(self, needle, timeout, after=0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.text().count(needle) > after:
                return time.perf_counter()
            time.sleep(0.02)
        sys.exit(f"no {needle!r} in the log within {timeout} s:\n{self.text()[-3000:]}")

    def logged_at(self, needle):
        """The wall-clock time (seconds since the epoch) of the first log line with `needle`."""
        for line in self.text().splitlines():
            if needle in line:
                stamp = line.split()[0].rstrip("Z")
                base, _, frac = stamp.partition(".")
                t = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
                return t + float("0." + (frac or "0"))
        sys.exit(f"no {needle!r} in the log")

    def hwm_mib(self):
        for line in open(f"/proc/{self.p.pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(40)
        except subprocess.TimeoutExpired:
            self.p.kill()


def imap(user):
    c = imaplib.IMAP4(HOST, IMAP_PORT)
    c.login(user, f"{user}pw")
    return c


def request(sender, to, subject, body="My printer is offline."):
    mid = f"<{subject.replace(' ', '-')}.{time.time_ns()}@client.example.test>"
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n"
        f"Date: {email.utils.formatdate()}\r\n\r\n{body}\r\n"
    ).encode()


def wait_subject(user, needle, timeout):
    c = imap(user)
    c.select("INBOX")
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < timeout:
            c.noop()
            _, data = c.search(None, "SUBJECT", f'"{needle}"')
            if data[0]:
                return time.perf_counter()
            time.sleep(0.01)
        return None
    finally:
        c.logout()


def listening(port):
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) == 0


def until(what, f, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if f():
            return
        time.sleep(0.05)
    sys.exit(f"timed out waiting for {what}")


def backlog(args):
    n = args.backlog
    root = os.path.join(E["MAILDIR_ROOT"], "support", "Maildir")
    subprocess.run(
        [sys.executable, "bench/gen_mail.py", "--count", str(n), "--to", "support@example.test",
         "--out", root, "--customers", "50"],
        check=True, stdout=subprocess.DEVNULL)
    d = Daemon(args.bin, config(args.work, "backlog", "support"))
    t_start = time.perf_counter()
    time.sleep(1)
    c = imap("support")
    c.append("INBOX", None, None, request("Probe <probe@example.test>", "support@example.test",
                                          "backlog probe: VPN down"))
    t_probe = time.perf_counter()
    got = wait_subject("probe", "backlog probe", 120)
    c.select("INBOX", readonly=True)
    peak = 0.0
    while True:
        peak = max(peak, d.hwm_mib())
        _, data = c.search(None, "UNSEEN")
        if not data[0]:
            break
        time.sleep(0.5)
    t_done = time.perf_counter()
    peak = max(peak, d.hwm_mib())
    c.logout()
    d.stop()
    probe = f"{got - t_probe:.1f} s" if got else "not within 120 s"
    print(f"backlog: {n} messages drained in {t_done - t_start:.1f} s "
          f"({n / (t_done - t_start):.0f} msg/s); peak RSS {peak:.0f} MiB; a message APPENDed "
          f"1 s into the drain was acknowledged after {probe}")


def restart_dovecot(args):
    d = Daemon(args.bin, config(args.work, "restart", "live", extra=""))
    d.wait_log("IMAP connected", 30)
    time.sleep(1)
    w_stop = time.time()
    os.kill(int(E["DOVECOT_PID"]), signal.SIGTERM)
    until("Dovecot to stop", lambda: not listening(IMAP_PORT))
    time.sleep(1)
    pid_file = os.path.join(E["RUN_DIR"], "master.pid")
    if os.path.exists(pid_file):
        os.remove(pid_file)
    cmd = ["/usr/sbin/dovecot", "-c", E["DOVECOT_CONF"]]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "dovecot", "--"] + cmd
    subprocess.run(cmd, check=True)
    until("Dovecot to listen", lambda: listening(IMAP_PORT))
    w_up = time.time()
    # A customer writes the moment the server is back: how long until they are answered?
    c = imap("live")
    c.append("INBOX", None, None, request("Probe <probe@example.test>", "live@example.test",
                                          "restart early probe: mail down"))
    c.logout()
    t_early = time.perf_counter()
    until("Dovecot's LMTP", lambda: os.path.exists(os.path.join(E["RUN_DIR"], "lmtp")))
    got_early = wait_subject("probe", "restart early probe", 60)
    d.wait_log("IMAP connection restored", 90)
    w_noticed = d.logged_at("IMAP intake interrupted")
    w_back = d.logged_at("IMAP connection restored")
    c = imap("live")
    c.append("INBOX", None, None, request("Probe <probe@example.test>", "live@example.test",
                                          "restart probe: mail down"))
    t_sent = time.perf_counter()
    c.logout()
    got = wait_subject("probe", "restart probe", 60)
    d.stop()
    # Dovecot keeps a stopped master's IMAP processes (and so our IDLE connection) alive for
    # about 10 s before it says BYE: the loss is noticed when the server ends the connection.
    print(f"IMAP restart during IDLE: Dovecot listened again {w_up - w_stop:.1f} s after it was "
          f"stopped and ended the old connection after {w_noticed - w_stop:.1f} s; the daemon "
          f"was back {w_back - w_noticed:.1f} s after the connection ended; a message APPENDed "
          f"after the restart was acknowledged after "
          f"{(got - t_sent) if got else float('nan'):.1f} s; one APPENDed the moment Dovecot "
          f"listened again was acknowledged after "
          f"{(got_early - t_early) if got_early else float('nan'):.1f} s")


def smtp_outage(args):
    if E.get("MTA") != "postfix":
        print("SMTP outage: skipped (needs root for Postfix)")
        return
    d = Daemon(args.bin, config(args.work, "outage", "outage", extra="auto_reply_limit = 100"))
    d.wait_log("IMAP connected", 30)
    os.kill(int(E["MTA_PID"]), signal.SIGTERM)
    until("Postfix to stop", lambda: not listening(SMTP_PORT))
    c = imap("outage")
    n = 20
    for i in range(n):
        c.append("INBOX", None, None, request(f"Customer <customer{i + 1}@example.test>",
                                              "outage@example.test", f"outage request {i}"))
    c.logout()
    time.sleep(args.outage)
    pid_file = os.path.join(E["PF_QUEUE"], "pid", "master.pid")
    if os.path.exists(pid_file):
        os.remove(pid_file)
    subprocess.run(["/usr/lib/postfix/sbin/master", "-c", E["PF_CONF"], "-w"], check=True)
    until("Postfix to listen", lambda: listening(SMTP_PORT))
    t_up = time.perf_counter()
    ids = {}
    deadline = time.time() + 180
    while time.time() < deadline:
        ids = {}
        for i in range(n):
            u = imap(f"customer{i + 1}")
            u.select("INBOX", readonly=True)
            _, data = u.search(None, "SUBJECT", '"outage request"')
            for num in data[0].split():
                _, msg = u.fetch(num, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                mid = msg[0][1].decode().strip()
                ids[mid] = ids.get(mid, 0) + 1
            u.logout()
        if len(ids) >= n:
            break
        time.sleep(0.5)
    t_all = time.perf_counter()
    time.sleep(5)
    d.stop()
    twice = sum(1 for v in ids.values() if v > 1)
    rows = subprocess.run([args.bin, "--config", os.path.join(args.work, "outage", "helpdesk.toml"),
                           "outbox", "list", "--json"], capture_output=True, text=True).stdout
    sent = rows.count('"sent"')
    print(f"SMTP outage of {args.outage} s: {len(ids)} of {n} acknowledgments delivered "
          f"{t_all - t_up:.1f} s after Postfix was back, {twice} twice "
          f"(outbox: {sent} rows sent)")
    E["MTA_PID"] = open(pid_file).read().strip()


def full_disk(args):
    if os.geteuid() != 0:
        print("full disk: skipped (mounting a tmpfs needs root)")
        return
    base = os.path.join(args.work, "disk")
    state = os.path.join(base, "state")
    os.makedirs(state, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", state], check=True)
    maildir = os.path.join(base, "Maildir")
    cfg = config(args.work, "disk", "support",
                 inbound=f'kind = "maildir"\npath = "Maildir"\npoll_interval = "1s"\n',
                 extra="auto_reply_limit = 1000")
    d = Daemon(args.bin, cfg)
    until("the Maildir", lambda: os.path.isdir(os.path.join(maildir, "new")))

    def deliver(i):
        body = "\n".join(f"line {j} of request {i}" for j in range(300))
        raw = request(f"c{i}@customer.test", "support@example.test", f"disk request {i}", body)
        tmp = os.path.join(maildir, "tmp", f"{i}.m")
        with open(tmp, "wb") as f:
            f.write(raw)
        os.rename(tmp, os.path.join(maildir, "new", f"{i}.m"))

    for i in range(5):
        deliver(i)
    until("the first five", lambda: not os.listdir(os.path.join(maildir, "new")))
    filler = os.path.join(state, "filler")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    n = 200
    for i in range(5, n):
        deliver(i)
    d.wait_log("the disk under the database is full", 60)
    line = next(l for l in d.text().splitlines() if "the disk under the database is full" in l)
    waiting = len(os.listdir(os.path.join(maildir, "new")))
    time.sleep(2)
    os.remove(filler)
    t_space = time.perf_counter()
    until("intake to finish", lambda: not os.listdir(os.path.join(maildir, "new")), 120)
    t_done = time.perf_counter()
    time.sleep(1)
    d.stop()
    run = lambda *a: subprocess.run([args.bin, "--config", cfg, *a], capture_output=True,
                                    text=True).stdout
    cases = run("cases", "list", "--json").count('"ticket"')
    quarantined = run("quarantine", "list", "--json").count('"id"')
    subprocess.run(["umount", "-l", state])
    print(f"full disk: {waiting} messages waited in new/ while the database's disk was full; "
          f"intake took them in {t_done - t_space:.1f} s after space returned; {cases} cases "
          f"for {n} messages, {quarantined} quarantined; the log said: "
          f"{line.split('ERROR ', 1)[-1][:160]}…")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--backlog", type=int, default=10000)
    ap.add_argument("--outage", type=int, default=120)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    for name, f in [("backlog", backlog), ("restart", restart_dovecot),
                    ("outage", smtp_outage), ("disk", full_disk)]:
        if not args.only or name in args.only.split(","):
            print(f"== {name}", flush=True)
            f(args)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
