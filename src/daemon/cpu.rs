//! Keeps a daemon (or a bulk import) on SQLite to one CPU, the one it starts on. Every SQL
//! statement goes to sqlx's SQLite thread and its answer comes back, a dozen times for each
//! message taken in: with the two threads on two CPUs each hand-off wakes the other CPU, on one
//! it is a switch between threads. On the 2-CPU benchmark machine one CPU drained the
//! benchmark's mailbox about 1.6× as fast (1,095 and 1,125 msg/s against 698 and 709).
//! Only Linux has the call; elsewhere, and where the call is refused, nothing changes.

use std::io;

/// Confines every thread of this process, and so each thread it starts later, to the CPU the
/// calling thread is on, within the CPUs it may use (systemd's `CPUAffinity=`, a cpuset).
/// Returns that CPU.
///
/// # Errors
/// The kernel refused (a thread that ended while being moved is not an error).
#[cfg(target_os = "linux")]
pub fn keep_to_one() -> io::Result<usize> {
    use rustix::thread::{sched_getcpu, sched_setaffinity, CpuSet, Pid};
    let cpu = sched_getcpu();
    let mut one = CpuSet::new();
    one.set(cpu);
    for entry in std::fs::read_dir("/proc/self/task")? {
        let name = entry?.file_name();
        let Some(tid) = name.to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        match sched_setaffinity(Pid::from_raw(tid), &one) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(cpu)
}

/// Not on this system.
#[cfg(not(target_os = "linux"))]
pub fn keep_to_one() -> io::Result<usize> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "CPU affinity is set on Linux only",
    ))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use rustix::thread::sched_getaffinity;

    /// The threads there are and the threads started after are all held to the one CPU.
    #[test]
    fn every_thread_now_and_later_keeps_to_the_cpu() {
        // In a process of its own: the test binary's other threads are not this test's.
        if std::env::var_os("HELPDESK_CPU_TEST_CHILD").is_none() {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "daemon::cpu::tests::every_thread_now_and_later_keeps_to_the_cpu",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("HELPDESK_CPU_TEST_CHILD", "1")
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains("held to cpu"),
                "{text}"
            );
            return;
        }
        let before = std::thread::spawn(|| {
            std::thread::park_timeout(std::time::Duration::from_secs(5));
            sched_getaffinity(None).unwrap()
        });
        let cpu = super::keep_to_one().unwrap();
        let only = |set: &rustix::thread::CpuSet| set.count() == 1 && set.is_set(cpu);
        assert!(only(&sched_getaffinity(None).unwrap()));
        let after = std::thread::spawn(|| sched_getaffinity(None).unwrap());
        assert!(only(&after.join().unwrap()), "a thread started after");
        before.thread().unpark();
        assert!(only(&before.join().unwrap()), "a thread started before");
        println!("held to cpu {cpu}");
    }
}
