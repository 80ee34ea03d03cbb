//! A faulty GitHub under concurrent load, through the real gRPC server
//! (`osp_sidecar::serve` in-process): 5xx, secondary and primary
//! rate limits, 429 and stalls past the client's timeout, while many
//! callers publish the same claim and different claims at once. No branch
//! ever gets a second pull request, every caller gets OK or a clear
//! retryable status, and an identical retry once the faults clear succeeds
//! and reuses the existing pull request.
#[path = "fake/github.rs"]
mod fake;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fake::{Delayed, Fake, TOKEN};
use osp_sidecar::pb;
use osp_sidecar::{Config, ServeArgs};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, ResponseTemplate};

/// Client-side bound on every call; it must never fire.
const BOUND: Duration = Duration::from_secs(20);

/// The in-process sidecar, stopped on drop.
struct Sidecar {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts `serve` publishing to `fake` with GitHub responses bounded by
/// `github_timeout_ms` (3 attempts, at most 2.5 s of waits per request) and
/// gRPC calls bounded by `request_timeout_ms`.
async fn sidecar(fake: &Fake, github_timeout_ms: u64, request_timeout_ms: u64) -> Sidecar {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, TOKEN).expect("write token");
    let config = dir.path().join("osp.yaml");
    std::fs::write(
        &config,
        format!(
            "publish:\n  base: clusters\n  github:\n    apiBase: '{}'\n    tokenFile: '{}'\n    \
             requestTimeoutMs: {github_timeout_ms}\n    maxAttempts: 3\n    maxWaitMs: 2500\n",
            fake.api_base(),
            token.display()
        ),
    )
    .expect("write config");
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let args = ServeArgs {
        config: Some(config),
        listen: Some(addr.to_string()),
        request_timeout_ms: Some(request_timeout_ms),
        ..ServeArgs::default()
    };
    let config = Config::resolve(&args, None).expect("config");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(osp_sidecar::serve(config, async move {
        let _ = stopped.await;
    }));
    let started = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(started.elapsed() < BOUND, "sidecar listening");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Sidecar {
        addr,
        stop: Some(stop),
        _dir: dir,
    }
}

async fn channel(s: &Sidecar) -> Channel {
    Channel::from_shared(format!("http://{}", s.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect")
}

fn path(claim: usize) -> String {
    format!("clusters/dev/db{claim}.yaml")
}

fn request(claim: usize) -> pb::CreatePullRequestRequest {
    pb::CreatePullRequestRequest {
        repository: "acme/gitops".into(),
        base_branch: "main".into(),
        files: vec![pb::FileChange {
            path: path(claim),
            content: format!("kind: DB\nmetadata: {{name: db{claim}}}\n"),
            delete: false,
        }],
        title: format!("Add db{claim}"),
        idempotency_key: format!("claim/dev/db{claim}"),
        ..Default::default()
    }
}

/// How one call ended.
#[derive(Debug)]
struct Outcome {
    claim: usize,
    result: Result<pb::CreatePullRequestResponse, tonic::Status>,
    took: Duration,
}

/// Publishes `claim`, bounded by [`BOUND`] (which must not fire).
async fn publish(ch: Channel, claim: usize) -> Outcome {
    let mut client = pb::publish_service_client::PublishServiceClient::new(ch);
    let start = Instant::now();
    let result = tokio::time::timeout(BOUND, client.create_pull_request(request(claim)))
        .await
        .unwrap_or_else(|_| panic!("call for claim {claim} hung past {BOUND:?}"))
        .map(tonic::Response::into_inner);
    Outcome {
        claim,
        result,
        took: start.elapsed(),
    }
}

/// Publishes every claim in `claims` at once on one shared connection.
async fn all(ch: &Channel, claims: impl IntoIterator<Item = usize>) -> Vec<Outcome> {
    let calls: Vec<_> = claims
        .into_iter()
        .map(|c| tokio::spawn(publish(ch.clone(), c)))
        .collect();
    let mut out = Vec::new();
    for c in calls {
        out.push(c.await.expect("caller task"));
    }
    out
}

fn github_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(serde_json::json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
    }))
}

/// A fault that answers matching requests until dropped. (Not wiremock's
/// scoped mocks: 0.6.5 sorts its mocks by priority in place, so dropping a
/// scoped guard can switch off a different mock, such as the fake itself.)
struct Fault {
    on: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
    name: String,
}

impl Fault {
    /// Requests it answered.
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Fault {
    fn drop(&mut self) {
        self.on.store(false, Ordering::SeqCst);
    }
}

/// Counts the answers of a fault.
struct Counted<R>(R, Arc<AtomicUsize>);

impl<R: wiremock::Respond> wiremock::Respond for Counted<R> {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.respond(req)
    }
}

/// Matches while its fault is on.
struct On(Arc<AtomicBool>);

impl wiremock::Match for On {
    fn matches(&self, _: &wiremock::Request) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Answers the first `times` matching requests with `response` until the
/// fault drops.
async fn fault(
    fake: &Fake,
    verb: &str,
    path: &str,
    response: impl wiremock::Respond + 'static,
    times: u64,
) -> Fault {
    let on = Arc::new(AtomicBool::new(true));
    let hits = Arc::new(AtomicUsize::new(0));
    Mock::given(method(verb))
        .and(path_regex(path))
        .and(On(on.clone()))
        .respond_with(Counted(response, hits.clone()))
        .up_to_n_times(times)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    Fault {
        on,
        hits,
        name: format!("{verb} {path}"),
    }
}

/// Open pull requests per head branch; panics on a branch with two.
fn pulls_by_branch(fake: &Fake) -> BTreeMap<String, u64> {
    let s = fake.state();
    let mut out = BTreeMap::new();
    for p in &s.pulls {
        let dup = out.insert(p.head.clone(), p.number);
        assert!(dup.is_none(), "two pull requests for `{}`", p.head);
    }
    out
}

/// The status codes a GitHub fault may surface as (see
/// `sidecar/src/errors/respond.rs`): UNAVAILABLE for 5xx, stalls and rate
/// limits beyond the retry budget, ABORTED for a concurrent writer,
/// DEADLINE_EXCEEDED/CANCELLED for the sidecar's own request timeout.
fn clear(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable
            | Code::Aborted
            | Code::ResourceExhausted
            | Code::DeadlineExceeded
            | Code::Cancelled
    ) && !status.message().is_empty()
        && !status.message().contains(TOKEN)
}

fn tally(outcomes: &[Outcome]) -> BTreeMap<String, usize> {
    let mut codes = BTreeMap::new();
    for o in outcomes {
        let code = match &o.result {
            Ok(_) => Code::Ok,
            Err(s) => s.code(),
        };
        *codes.entry(format!("{code:?}")).or_default() += 1;
    }
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publications_under_faults_open_one_pull_request_per_claim() {
    const CLAIMS: usize = 6;
    const CALLERS_PER_CLAIM: usize = 6;
    let fake = Fake::start("").await;
    let sidecar = sidecar(&fake, 300, 15_000).await;
    let ch = channel(&sidecar).await;
    let reset = chrono::Utc::now().timestamp() + 1;
    let faults = vec![
        fault(&fake, "POST", "/git/trees$", github_error(502, "Server Error"), 6).await,
        fault(
            &fake,
            "GET",
            "/branches/",
            github_error(
                403,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            )
            .insert_header("retry-after", "1"),
            3,
        )
        .await,
        fault(
            &fake,
            "GET",
            "/branches/",
            github_error(403, "API rate limit exceeded for installation ID 42.")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str()),
            3,
        )
        .await,
        fault(
            &fake,
            "POST",
            "/pulls$",
            github_error(429, "Too Many Requests").insert_header("retry-after", "1"),
            2,
        )
        .await,
        fault(&fake, "GET", "/pulls$", github_error(503, "Service Unavailable"), 3).await,
        // Stalls past the 300 ms GitHub timeout. The write lands, only the
        // answer is lost: a retry must find it rather than duplicate it.
        fault(
            &fake,
            "POST",
            "/git/commits$",
            Delayed(fake.clone(), Duration::from_secs(2)),
            3,
        )
        .await,
        fault(
            &fake,
            "POST",
            "/pulls$",
            Delayed(fake.clone(), Duration::from_secs(2)),
            2,
        )
        .await,
    ];

    let started = Instant::now();
    let claims = (0..CLAIMS).flat_map(|c| std::iter::repeat_n(c, CALLERS_PER_CLAIM));
    let outcomes = all(&ch, claims).await;
    let took = started.elapsed();
    let codes = tally(&outcomes);
    eprintln!(
        "{} concurrent calls ({CLAIMS} claims x {CALLERS_PER_CLAIM}) under faults in {took:?}: {codes:?}; \
         slowest {:?}; {} GitHub requests",
        outcomes.len(),
        outcomes.iter().map(|o| o.took).max(),
        fake.requests().await.len(),
    );
    for o in &outcomes {
        if let Err(s) = &o.result {
            assert!(clear(s), "claim {}: unclear error {s:?}", o.claim);
        }
    }
    let during = pulls_by_branch(&fake);
    assert!(during.len() <= CLAIMS, "{during:?}");

    // Same-claim callers that succeeded all point at that claim's one PR.
    let mut numbers: BTreeMap<usize, u64> = BTreeMap::new();
    for o in &outcomes {
        if let Ok(r) = &o.result {
            let n = *numbers.entry(o.claim).or_insert(r.number);
            assert_eq!(n, r.number, "claim {}: two PR numbers", o.claim);
            assert_eq!(during.get(&r.branch), Some(&r.number), "{r:?}");
        }
    }

    let hits: Vec<_> = faults.iter().map(|f| (f.name.clone(), f.hits())).collect();
    eprintln!("faults answered: {hits:?}");
    assert!(
        hits.iter().all(|(_, n)| *n > 0),
        "every fault fired: {hits:?}"
    );

    // The faults clear; the identical request succeeds and reuses the PR.
    drop(faults);
    let retried = all(&ch, 0..CLAIMS).await;
    let after = pulls_by_branch(&fake);
    assert_eq!(after.len(), CLAIMS, "one PR per claim: {after:?}");
    for o in retried {
        let r = o
            .result
            .unwrap_or_else(|s| panic!("claim {}: retry {s:?}", o.claim));
        assert_eq!(after.get(&r.branch), Some(&r.number), "{r:?}");
        if let Some(before) = during.get(&r.branch) {
            assert_eq!(*before, r.number, "claim {}: reused", o.claim);
            assert!(!r.created, "claim {}: not created again", o.claim);
        }
        assert!(
            fake.files(&r.branch).contains_key(&path(o.claim)),
            "claim {}: file on the branch",
            o.claim
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_beyond_the_budget_answer_unavailable_with_retry_info() {
    let fake = Fake::start("").await;
    let sidecar = sidecar(&fake, 300, 15_000).await;
    let ch = channel(&sidecar).await;
    struct Case {
        reason: &'static str,
        response: ResponseTemplate,
        min_retry_secs: u64,
    }
    let reset = chrono::Utc::now().timestamp() + 3600;
    let cases = [
        Case {
            reason: "primary rate limit, reset in an hour",
            response: github_error(403, "API rate limit exceeded for installation ID 42.")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str()),
            min_retry_secs: 3000,
        },
        Case {
            reason: "secondary rate limit, Retry-After past the wait budget",
            response: github_error(403, "You have exceeded a secondary rate limit.")
                .insert_header("retry-after", "120"),
            min_retry_secs: 120,
        },
        Case {
            reason: "429 without hints: GitHub's documented minute",
            response: github_error(429, "Too Many Requests"),
            min_retry_secs: 60,
        },
    ];
    for (i, c) in cases.into_iter().enumerate() {
        let limited = fault(&fake, "GET", "/branches/", c.response, 1_000).await;
        let claims = std::iter::repeat_n(i, 4).chain(10 * (i + 1)..10 * (i + 1) + 4);
        let started = Instant::now();
        let outcomes = all(&ch, claims).await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{}: no hopeless wait ({:?})",
            c.reason,
            started.elapsed()
        );
        for o in &outcomes {
            let s = o.result.as_ref().expect_err(c.reason);
            assert_eq!(s.code(), Code::Unavailable, "{}: {s:?}", c.reason);
            assert!(s.message().contains("rate limited"), "{}: {s:?}", c.reason);
            let delay = s
                .get_error_details()
                .retry_info()
                .and_then(|r| r.retry_delay)
                .unwrap_or_default();
            assert!(
                delay.as_secs() >= c.min_retry_secs,
                "{}: retry hint {delay:?}",
                c.reason
            );
        }
        assert!(pulls_by_branch(&fake).is_empty(), "{}", c.reason);
        drop(limited);
        let out = publish(ch.clone(), i).await;
        let r = out.result.expect("after the limit clears");
        assert!(r.created, "{}: {r:?}", c.reason);
        fake.state().pulls.clear();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalls_past_the_request_timeout_then_a_retry_reuses_the_pull_request() {
    let fake = Fake::start("").await;
    // GitHub answers bounded at 400 ms, gRPC calls at 1.5 s: a GitHub that
    // stalls every attempt runs the call into the sidecar's deadline.
    let sidecar = sidecar(&fake, 400, 1_500).await;
    let ch = channel(&sidecar).await;

    // PR creation stalls for everyone (and lands for whoever got there
    // first): callers of one claim run out of time.
    let stalled = fault(
        &fake,
        "POST",
        "/pulls$",
        Delayed(fake.clone(), Duration::from_secs(3)),
        1_000,
    )
    .await;
    let outcomes = all(&ch, std::iter::repeat_n(0, 8)).await;
    let codes = tally(&outcomes);
    eprintln!("8 callers, one claim, GitHub stalled on POST /pulls: {codes:?}");
    // The stalled POST still lands: a caller arriving after it (on a slow
    // machine, most of them) finds that pull request and reuses it.
    let mut stalled_calls = 0;
    for o in &outcomes {
        match &o.result {
            Err(s) => {
                stalled_calls += 1;
                assert!(clear(s), "{s:?}");
            }
            Ok(r) => assert!(!r.created, "only a reused pull request answers OK: {r:?}"),
        }
        assert!(o.took < Duration::from_secs(5), "bounded: {:?}", o.took);
    }
    assert!(
        stalled_calls >= 1,
        "the first caller runs into the stall: {codes:?}"
    );
    let during = pulls_by_branch(&fake);
    assert!(during.len() <= 1, "{during:?}");

    // Stalled reads: nothing is written, each caller is told so.
    drop(stalled);
    let stalled = fault(
        &fake,
        "GET",
        "/branches/",
        ResponseTemplate::new(200).set_delay(Duration::from_secs(3)),
        1_000,
    )
    .await;
    let outcomes = all(&ch, 1..5).await;
    eprintln!(
        "4 claims, GitHub stalled on GET /branches/: {:?}",
        tally(&outcomes)
    );
    for o in &outcomes {
        let s = o.result.as_ref().expect_err("stalled read");
        assert!(clear(s), "{s:?}");
    }
    drop(stalled);

    // Cleared: identical retries succeed, and claim 0 reuses its PR.
    let retried = all(&ch, std::iter::repeat_n(0, 4).chain(1..5)).await;
    let after = pulls_by_branch(&fake);
    assert_eq!(after.len(), 5, "{after:?}");
    let mut created = 0;
    for o in retried {
        let r = o
            .result
            .unwrap_or_else(|s| panic!("claim {}: {s:?}", o.claim));
        created += usize::from(r.created);
        assert_eq!(after.get(&r.branch), Some(&r.number));
        if o.claim == 0
            && let Some(n) = during.values().next()
        {
            assert_eq!(*n, r.number, "reused the PR the stalled call opened");
            assert!(!r.created);
        }
    }
    assert!(created <= 5, "{created}");
}
