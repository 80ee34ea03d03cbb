//! Slow and half-open peers against the real binary (issue 21): streams that
//! send headers and never a body must not take the `--concurrency-limit`
//! from other callers, one connection holds at most
//! `--max-streams-per-connection` streams, a half-open stream is answered
//! after `--first-message-timeout-ms`, and health is answered whatever the
//! load.
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use osp_sidecar::pb;
use osp_tests::repo_root;
use osp_tests::server::OspServer;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// How a slow stream behaves after its headers.
#[derive(Debug, Clone, Copy)]
enum Slow {
    /// Never sends a byte of body.
    HalfOpen,
    /// Sends the first 3 bytes of a 100-byte message, then nothing.
    PartialBody,
}

/// One connection of a slow peer with its open streams.
struct Peer {
    send: h2::client::SendRequest<Bytes>,
    ping: h2::PingPong,
    responses: Vec<h2::client::ResponseFuture>,
    // Dropping a body sender would end the stream (RST_STREAM); keep them.
    _bodies: Vec<h2::SendStream<Bytes>>,
}

impl Peer {
    async fn connect(addr: SocketAddr) -> Result<Self> {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let (send, mut conn) = h2::client::handshake(tcp).await?;
        let ping = conn.ping_pong().context("ping_pong taken once")?;
        tokio::spawn(conn);
        let mut peer = Self {
            send,
            ping,
            responses: Vec::new(),
            _bodies: Vec::new(),
        };
        // A ping round trip: the server's SETTINGS came before its PONG.
        peer.sync().await?;
        Ok(peer)
    }

    /// Returns once the server has read every frame sent so far.
    async fn sync(&mut self) -> Result<()> {
        self.ping.ping(h2::Ping::opaque()).await?;
        Ok(())
    }

    /// Opens `n` slow ListDefinitions streams.
    async fn open(&mut self, addr: SocketAddr, n: usize, slow: Slow) -> Result<()> {
        for _ in 0..n {
            let req = http::Request::post(format!(
                "http://{addr}/osp.v1.TemplateService/ListDefinitions"
            ))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())?;
            let mut send = self.send.clone().ready().await?;
            let (response, mut body) = send.send_request(req, false)?;
            if let Slow::PartialBody = slow {
                body.send_data(Bytes::from_static(&[0, 0, 0, 0, 100, 1, 2, 3]), false)?;
            }
            self.responses.push(response);
            self._bodies.push(body);
        }
        self.sync().await
    }
}

fn examples() -> String {
    repo_root().join("examples").display().to_string()
}

async fn list(ch: &Channel) -> Code {
    let mut c = pb::template_service_client::TemplateServiceClient::new(ch.clone());
    match c
        .list_definitions(pb::ListDefinitionsRequest::default())
        .await
    {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

async fn health(ch: &Channel) -> Result<i32> {
    Ok(HealthClient::new(ch.clone())
        .check(HealthCheckRequest {
            service: "osp.v1.TemplateService".into(),
        })
        .await?
        .into_inner()
        .status)
}

async fn grpc_status(response: h2::client::ResponseFuture) -> Result<String> {
    let response = tokio::time::timeout(Duration::from_secs(20), response)
        .await
        .context("a slow stream is answered")??;
    let status = response
        .headers()
        .get("grpc-status")
        .context("a trailers-only answer")?;
    Ok(status.to_str()?.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// The campaign's attack: a few connections holding many half-open streams
/// used to take the whole limit, and every caller (health included) got
/// RESOURCE_EXHAUSTED until the request timeout.
#[test]
fn half_open_streams_do_not_starve_other_callers() -> Result<()> {
    struct Case {
        reason: &'static str,
        args: &'static [&'static str],
        env: &'static [(&'static str, &'static str)],
        connections: usize,
        streams: usize,
        want_cap: usize,
        /// Wait for the half-open streams' answers (the first-message
        /// timeout) and check them.
        answered: bool,
    }
    let cases = [
        Case {
            reason: "the campaign's numbers with default settings: 3 × 100 streams, limit 256",
            args: &[],
            env: &[],
            connections: 3,
            streams: 100,
            want_cap: 128,
            answered: false,
        },
        Case {
            reason: "scaled down: 3 × 8 streams against a limit of 4, cap set by env",
            args: &[
                "--concurrency-limit",
                "4",
                "--first-message-timeout-ms",
                "2000",
            ],
            env: &[("OSP_MAX_STREAMS_PER_CONNECTION", "8")],
            connections: 3,
            streams: 8,
            want_cap: 8,
            answered: true,
        },
    ];
    for c in cases {
        let mut args = vec!["--from-dir".to_string(), examples()];
        args.extend(c.args.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = OspServer::start_with_env(&args, c.env)?;
        runtime()?.block_on(attack(
            &server,
            c.reason,
            c.connections,
            c.streams,
            c.want_cap,
            c.answered,
        ))?;
        let log = server.log();
        if log.contains("panicked") {
            bail!("{}: the server panicked:\n{log}", c.reason);
        }
    }
    Ok(())
}

async fn attack(
    server: &OspServer,
    reason: &str,
    connections: usize,
    streams: usize,
    want_cap: usize,
    answered: bool,
) -> Result<()> {
    let mut peers = Vec::new();
    for _ in 0..connections {
        let mut peer = Peer::connect(server.addr).await?;
        assert_eq!(
            peer.send.current_max_send_streams(),
            want_cap,
            "{reason}: the per-connection cap is advertised in SETTINGS"
        );
        peer.open(server.addr, streams, Slow::HalfOpen).await?;
        peers.push(peer);
    }
    let ch = Channel::from_shared(format!("http://{}", server.addr))?
        .connect()
        .await?;
    for i in 0..20 {
        assert_eq!(
            list(&ch).await,
            Code::Ok,
            "{reason}: call {i} while streams hang"
        );
    }
    assert_eq!(
        health(&ch).await?,
        ServingStatus::Serving as i32,
        "{reason}"
    );
    if answered {
        for peer in peers {
            for response in peer.responses {
                assert_eq!(
                    grpc_status(response).await?,
                    (Code::DeadlineExceeded as i32).to_string(),
                    "{reason}: a half-open stream is answered after the first-message timeout"
                );
            }
        }
        assert_eq!(
            list(&ch).await,
            Code::Ok,
            "{reason}: still served afterwards"
        );
    }
    Ok(())
}

/// Streams whose message has started take a permit (that is the limit), but
/// health is answered outside the limit, so a kubelet probe still passes;
/// a message that never completes gives its permit back after the
/// first-message timeout, not the request timeout.
#[test]
fn health_is_answered_at_the_concurrency_limit() -> Result<()> {
    let server = OspServer::start(&[
        "--from-dir",
        &examples(),
        "--concurrency-limit",
        "4",
        "--first-message-timeout-ms",
        "2000",
    ])?;
    runtime()?.block_on(async {
        let mut peer = Peer::connect(server.addr).await?;
        peer.open(server.addr, 4, Slow::PartialBody).await?;
        let ch = Channel::from_shared(format!("http://{}", server.addr))?
            .connect()
            .await?;
        // The server reads the frames before its per-stream tasks take the
        // permits: wait (bounded) until they hold the whole limit.
        let mut code = list(&ch).await;
        for _ in 0..100 {
            if code == Code::ResourceExhausted {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            code = list(&ch).await;
        }
        assert_eq!(
            code,
            Code::ResourceExhausted,
            "the 4 started messages hold the whole limit"
        );
        assert_eq!(
            health(&ch).await?,
            ServingStatus::Serving as i32,
            "health is answered outside the limit"
        );
        for response in std::mem::take(&mut peer.responses) {
            assert_eq!(
                grpc_status(response).await?,
                (Code::DeadlineExceeded as i32).to_string(),
                "an incomplete first message is answered after the first-message timeout"
            );
        }
        assert_eq!(list(&ch).await, Code::Ok, "the permits are back");
        drop(peer);
        anyhow::Ok(())
    })
}

/// A peer that completes the HTTP/2 preface and then goes silent (a
/// vanished client behind a dropped NAT entry) is disconnected once a
/// keepalive ping goes unanswered; without keepalive it stayed forever.
#[test]
fn silent_peers_are_dropped_by_keepalive() -> Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = OspServer::start_with_env(
        &[
            "--from-dir",
            &examples(),
            "--http2-keepalive-interval-ms",
            "200",
        ],
        &[("OSP_HTTP2_KEEPALIVE_TIMEOUT_MS", "300")],
    )?;
    runtime()?.block_on(async {
        let mut tcp = tokio::net::TcpStream::connect(server.addr).await?;
        tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await?;
        // An empty SETTINGS frame; the server's SETTINGS and PINGs are
        // read but never acknowledged.
        tcp.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await?;
        let closed = tokio::time::timeout(Duration::from_secs(20), async {
            let mut buf = [0u8; 1024];
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(
            closed.is_ok(),
            "the server closes a connection whose pings go unanswered"
        );
        anyhow::Ok(())
    })
}
