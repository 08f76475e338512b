//! The webhook delivery loop of `discvault serve`: reads the audit trail for the webhooks and
//! sends their messages (`discvault::webhooks`), over HTTP(S) with ureq.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Messages sent with ureq: no redirect followed, ten seconds an attempt.
struct UreqSender {
    agent: ureq::Agent,
}

impl UreqSender {
    fn new() -> UreqSender {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        UreqSender { agent }
    }
}

impl discvault::webhooks::Sender for UreqSender {
    fn post(&self, url: &str, headers: &[(&str, String)], body: &[u8]) -> Result<u16, String> {
        let mut req = self.agent.post(url);
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        match req.send(body) {
            Ok(r) => Ok(r.status().as_u16()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Runs until `stop`: every `every`, queues what the audit trail tells the webhooks and sends
/// what is due. Errors (a catalog busy, a receiver down) wait for the next round.
pub fn run(vault: discvault::Vault, stop: &AtomicBool, every: Duration) {
    let sender = UreqSender::new();
    while !stop.load(Ordering::Relaxed) {
        let now = discvault::now_unix();
        if let Err(e) = discvault::webhooks::collect(&vault, now) {
            eprintln!("discvault serve: webhooks: {e}");
        }
        if let Err(e) = discvault::webhooks::deliver(&vault, &sender, now) {
            eprintln!("discvault serve: webhooks: {e}");
        }
        let until = std::time::Instant::now() + every;
        while std::time::Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
