//! A TCP relay in front of QEMU's host forward to the guest's port 80, where pebble
//! validates HTTP-01.
//!
//! QEMU's user network listens for a host forward with a backlog of one (`ss -ltn` shows
//! Send-Q 1 on its sockets). pebble's VA opens three connections at once (its va.go:
//! `concurrentValidations = 3`); when QEMU, busy emulating, has not yet accepted the first
//! ones, the host kernel drops the next SYN and pebble's kernel sends it again a second
//! later. That second was the tls step's "slow mode" in the boot bench (2.1 s instead of
//! 1.1 s, about one boot in three; traced: the third validation connection reached the
//! guest 1.02 s after the other two). It is the test network's, not the appliance's: a CA
//! reaches a real server's own TCP stack. The relay listens with the usual backlog and
//! connects onward with a short timeout, trying again at once, so a dropped SYN costs
//! 100 ms at most.

use anyhow::Result;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long one onward connection attempt waits for QEMU's forward to take it.
const ATTEMPT: Duration = Duration::from_millis(100);
/// How long a connection keeps trying to reach the guest.
const GIVE_UP: Duration = Duration::from_secs(30);

/// Relays 127.0.0.1:`listen` to 127.0.0.1:`target` until dropped.
pub struct Relay {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    /// Listens on 127.0.0.1:`listen` and relays each connection to 127.0.0.1:`target`.
    pub fn start(listen: u16, target: u16) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", listen))?;
        // Polled, so that dropping the relay ends its thread.
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let target = SocketAddr::from(([127, 0, 0, 1], target));
        let thread = std::thread::Builder::new()
            .name(format!("relay-{listen}"))
            .spawn(move || {
                while !stopping.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((conn, _)) => {
                            std::thread::spawn(move || relay(conn, target));
                        }
                        // Nothing waiting (or a connection gone before it was taken).
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Connects `conn` to `target` (again after each attempt QEMU's forward did not take in
/// [`ATTEMPT`]) and copies both ways until either side closes.
fn relay(conn: TcpStream, target: SocketAddr) {
    let _ = conn.set_nonblocking(false);
    let start = Instant::now();
    let up = loop {
        match TcpStream::connect_timeout(&target, ATTEMPT) {
            Ok(up) => break up,
            Err(_) if start.elapsed() < GIVE_UP => continue,
            Err(_) => return,
        }
    };
    let _ = (conn.set_nodelay(true), up.set_nodelay(true));
    let (Ok(mut conn_r), Ok(mut up_w)) = (conn.try_clone(), up.try_clone()) else {
        return;
    };
    let upward = std::thread::spawn(move || {
        let _ = std::io::copy(&mut conn_r, &mut up_w);
        let _ = up_w.shutdown(Shutdown::Write);
    });
    let (mut up_r, mut conn_w) = (up, conn);
    let _ = std::io::copy(&mut up_r, &mut conn_w);
    let _ = conn_w.shutdown(Shutdown::Write);
    let _ = upward.join();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_connection_reaches_the_target_and_its_answer_comes_back() {
        let target = TcpListener::bind("127.0.0.1:0").unwrap();
        let target_port = target.local_addr().unwrap().port();
        let listen = crate::free_port().unwrap();
        let _relay = Relay::start(listen, target_port).unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = target.accept().unwrap();
            let mut got = [0u8; 4];
            s.read_exact(&mut got).unwrap();
            s.write_all(b"pong").unwrap();
            got
        });
        let mut c = TcpStream::connect(("127.0.0.1", listen)).unwrap();
        c.write_all(b"ping").unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "pong");
        assert_eq!(&server.join().unwrap(), b"ping");
    }
}
