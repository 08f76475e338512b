//! Logins are rate-limited: password guessing is slowed to a few tries per quarter hour, for
//! one name from one address, for one name from anywhere, and for one address whatever the
//! name. Every attempt counts when it starts (so that many at once cannot slip past the
//! count); a successful one is taken back, and the name's count from its address is cleared.
//! Kept in the server's memory: a restart forgets it.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window over which attempts are counted.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Attempts in a window: for one name from one address, for one name from anywhere, from one
/// address. An office behind one proxy shares an address: its limit is the largest.
pub const PER_NAME_AND_ADDRESS: usize = 5;
pub const PER_NAME: usize = 20;
pub const PER_ADDRESS: usize = 60;
/// Names and addresses remembered at most (the oldest are forgotten first): random names
/// cannot fill the memory.
const KEYS: usize = 10_000;

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    NameAt(String, IpAddr),
    Name(String),
    Address(IpAddr),
}

impl Key {
    fn limit(&self) -> usize {
        match self {
            Key::NameAt(..) => PER_NAME_AND_ADDRESS,
            Key::Name(_) => PER_NAME,
            Key::Address(_) => PER_ADDRESS,
        }
    }
}

#[derive(Default)]
pub struct LoginLimit {
    attempts: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

/// An attempt let through: give it back with [`LoginLimit::succeeded`] when it logs in.
pub struct Attempt {
    name: String,
    addr: IpAddr,
}

impl LoginLimit {
    /// Lets an attempt for `name` from `addr` through and counts it, or says how long to
    /// wait before the next one may be tried.
    pub fn attempt(&self, name: &str, addr: IpAddr) -> Result<Attempt, Duration> {
        self.attempt_at(name, addr, Instant::now())
    }

    fn attempt_at(&self, name: &str, addr: IpAddr, now: Instant) -> Result<Attempt, Duration> {
        // Names are counted as one whatever their case and surrounding blanks.
        let name = name.trim().to_lowercase();
        let keys = [
            Key::NameAt(name.clone(), addr),
            Key::Name(name.clone()),
            Key::Address(addr),
        ];
        let mut map = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = Duration::ZERO;
        for k in &keys {
            if let Some(q) = map.get_mut(k) {
                while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                    q.pop_front();
                }
                if q.len() >= k.limit() {
                    // Free again when the oldest attempt still counted leaves the window.
                    let oldest = q[q.len() - k.limit()];
                    wait = wait.max(WINDOW - now.duration_since(oldest));
                }
            }
        }
        if !wait.is_zero() {
            return Err(wait.max(Duration::from_secs(1)));
        }
        if map.len() + keys.len() > KEYS {
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
            if map.len() + keys.len() > KEYS {
                // Still full: the tenth used longest ago is forgotten at once.
                let mut by_age: Vec<(Option<Instant>, Key)> = map
                    .iter()
                    .map(|(k, q)| (q.back().copied(), k.clone()))
                    .collect();
                let n = KEYS / 10;
                by_age.select_nth_unstable_by_key(n, |(t, _)| *t);
                for (_, k) in by_age.into_iter().take(n + 1) {
                    map.remove(&k);
                }
            }
        }
        for k in keys {
            map.entry(k).or_default().push_back(now);
        }
        Ok(Attempt { name, addr })
    }

    /// The attempt logged in: it does not count, nor do the earlier ones of its name from
    /// its address.
    pub fn succeeded(&self, a: Attempt) {
        let mut map = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&Key::NameAt(a.name.clone(), a.addr));
        for k in [Key::Name(a.name), Key::Address(a.addr)] {
            if let Some(q) = map.get_mut(&k) {
                q.pop_back();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_are_slowed_per_name_address_and_both() {
        let l = LoginLimit::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..PER_NAME_AND_ADDRESS {
            assert!(l.attempt_at("li", a, t0).is_ok());
        }
        // The name from that address waits; in another case too; the name from elsewhere and
        // others from that address do not.
        let wait = l.attempt_at(" LI ", a, t0).err().unwrap();
        assert_eq!(wait, WINDOW);
        assert!(l.attempt_at("wang", a, t0).is_ok());
        assert!(l.attempt_at("li", b, t0).is_ok());
        // The window passes.
        let later = t0 + WINDOW;
        assert!(l.attempt_at("li", a, later).is_ok());

        // A login clears the name's count from its address.
        let l = LoginLimit::default();
        for _ in 0..PER_NAME_AND_ADDRESS - 1 {
            l.attempt_at("li", a, t0).unwrap();
        }
        let ok = l.attempt_at("li", a, t0).unwrap();
        l.succeeded(ok);
        for _ in 0..PER_NAME_AND_ADDRESS {
            assert!(l.attempt_at("li", a, t0).is_ok());
        }

        // One name from many addresses.
        let l = LoginLimit::default();
        for i in 0..PER_NAME {
            let addr = IpAddr::from([10, 0, (i / 250) as u8, (i % 250) as u8]);
            assert!(l.attempt_at("admin", addr, t0).is_ok());
        }
        assert!(l.attempt_at("admin", b, t0).is_err());

        // Many names from one address.
        let l = LoginLimit::default();
        for i in 0..PER_ADDRESS {
            assert!(l.attempt_at(&format!("user{i}"), a, t0).is_ok());
        }
        assert!(l.attempt_at("someone-else", a, t0).is_err());
        assert!(l.attempt_at("someone-else", b, t0).is_ok());

        // Random names from many addresses fill no more than KEYS entries.
        let l = LoginLimit::default();
        for i in 0..(KEYS as u32) {
            let addr = IpAddr::from(i.to_be_bytes());
            let _ = l.attempt_at(&format!("n{i}"), addr, t0);
        }
        assert!(l.attempts.lock().unwrap().len() <= KEYS);
    }
}
