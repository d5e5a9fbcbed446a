//! A JSON-RPC proxy in front of anvil that injects one fault, for the on-chain failure tests.
//!
//! It speaks just enough HTTP/1.1 for alloy's client: one JSON body per request, sized by
//! `Content-Length`, on kept-alive connections; each request is forwarded on a fresh connection.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

/// The fault to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forwards everything until a transaction is sent, then drops every connection: the RPC
    /// goes down between sending and the receipt.
    DownAfterSend,
    /// Answers `eth_getTransactionCount` with one less than the truth, as when another
    /// transaction of the same account took the nonce in between.
    StaleNonce,
    /// Answers `eth_estimateGas` with a node error.
    FailEstimate,
    /// Answers `eth_call` at the latest block with an empty `int256[]` and `eth_estimateGas`
    /// with 3,000,000: the client's simulation passes and the transaction reverts on chain
    /// (calls at a given block, as a replay of a reverted transaction, are forwarded).
    HideReverts,
}

/// The proxy; it stops serving when dropped.
pub struct FaultyRpc {
    pub url: String,
    down: Arc<AtomicBool>,
}

impl FaultyRpc {
    /// Starts a proxy to `upstream` (an `http://host:port` URL) with `fault`.
    pub fn start(upstream: &str, fault: Fault) -> FaultyRpc {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let down = Arc::new(AtomicBool::new(false));
        let flag = down.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    // Down: refuse by closing at once (and stop listening).
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (upstream, flag) = (upstream.clone(), flag.clone());
                std::thread::spawn(move || serve(conn, &upstream, fault, &flag));
            }
        });
        FaultyRpc { url, down }
    }
}

impl Drop for FaultyRpc {
    fn drop(&mut self) {
        self.down.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

fn serve(conn: TcpStream, upstream: &str, fault: Fault, down: &AtomicBool) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut writer = conn;
    while let Some(body) = read_request(&mut reader) {
        if down.load(Ordering::SeqCst) {
            return;
        }
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let method = request["method"].as_str().unwrap_or("").to_string();
        let reply = match (fault, method.as_str()) {
            (Fault::FailEstimate, "eth_estimateGas") => json!({
                "jsonrpc": "2.0", "id": request["id"],
                "error": {"code": -32000, "message": "gas estimation failed: node overloaded"}
            }),
            (Fault::HideReverts, "eth_estimateGas") => {
                json!({"jsonrpc": "2.0", "id": request["id"], "result": "0x2dc6c0"})
            }
            // The client's simulation (at the latest block), not a replay at a given block.
            (Fault::HideReverts, "eth_call")
                if !request["params"][1]
                    .as_str()
                    .is_some_and(|b| b.starts_with("0x")) =>
            {
                let empty_array = format!("0x{:064x}{:064x}", 32, 0);
                json!({"jsonrpc": "2.0", "id": request["id"], "result": empty_array})
            }
            _ => {
                let mut reply = forward(upstream, &body);
                if fault == Fault::StaleNonce && method == "eth_getTransactionCount" {
                    let count = reply["result"].as_str().unwrap_or("0x0");
                    let count = u64::from_str_radix(count.trim_start_matches("0x"), 16).unwrap();
                    reply["result"] = json!(format!("{:#x}", count.saturating_sub(1)));
                }
                reply
            }
        };
        let text = reply.to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            text.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(text.as_bytes()).is_err()
        {
            return;
        }
        if fault == Fault::DownAfterSend && method == "eth_sendRawTransaction" {
            down.store(true, Ordering::SeqCst);
        }
    }
}

/// One request's body, or `None` at the end of the connection.
fn read_request(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

/// Sends one JSON-RPC body upstream and returns the parsed answer.
fn forward(upstream: &str, body: &[u8]) -> Value {
    let mut conn = TcpStream::connect(upstream).expect("upstream answers");
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {upstream}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(body).unwrap();
    let mut reader = BufReader::new(conn);
    let body = read_response(&mut reader);
    serde_json::from_slice(&body).expect("upstream answers JSON")
}

/// The body of an HTTP response (`Content-Length` or chunked).
fn read_response(reader: &mut impl BufRead) -> Vec<u8> {
    let (mut length, mut chunked) = (None, false);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok();
            }
            if name.eq_ignore_ascii_case("transfer-encoding") && value.contains("chunked") {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let size = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        reader.read_exact(&mut body).unwrap();
    } else {
        reader.read_to_end(&mut body).unwrap();
    }
    body
}
