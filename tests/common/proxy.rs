//! A TCP proxy between duro and PostgreSQL that a test can turn hostile: cut every open
//! connection at once, or swallow all traffic (a network black hole).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub struct Proxy {
    pub port: u16,
    blackhole: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    pub connections: Arc<AtomicUsize>,
}

impl Proxy {
    /// Forwards 127.0.0.1:<port> to `upstream` (host:port).
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Proxy {
            port,
            blackhole: Arc::new(AtomicBool::new(false)),
            open: Arc::new(Mutex::new(Vec::new())),
            connections: Arc::new(AtomicUsize::new(0)),
        };
        let upstream = upstream.to_string();
        let (blackhole, open, connections) = (
            proxy.blackhole.clone(),
            proxy.open.clone(),
            proxy.connections.clone(),
        );
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                connections.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                open.lock().unwrap().push(client.try_clone().unwrap());
                open.lock().unwrap().push(server.try_clone().unwrap());
                pump(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    blackhole.clone(),
                );
                pump(server, client, blackhole.clone());
            }
        });
        proxy
    }

    /// Closes every open connection, both ways.
    pub fn cut(&self) {
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// From now on bytes are read and dropped in both directions (new connections too).
    pub fn blackhole(&self, on: bool) {
        self.blackhole.store(on, Ordering::SeqCst);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, blackhole: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if blackhole.load(Ordering::SeqCst) {
                        continue;
                    }
                    if to.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}
