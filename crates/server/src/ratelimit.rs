//! Per-address limit on anonymous requests that store server-side state: each provider sign-in
//! start writes a pending login flow (state, nonce, PKCE verifier) that lives until its callback
//! or for 10 minutes, so a flood from one address is answered 429 instead of filling the store.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Above this many tracked addresses, those back at a full allowance are forgotten.
const MAX_TRACKED: usize = 10_000;

pub struct SignInLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl SignInLimiter {
    /// `per_minute` starts per address, as a burst that refills evenly over the minute.
    pub fn new(per_minute: u32) -> SignInLimiter {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        SignInLimiter { limiter: RateLimiter::keyed(quota), clock: DefaultClock::default() }
    }

    /// `Err(wait)` when `peer` has used its allowance. IPv6 clients are counted per /64, the
    /// block one subscriber usually holds.
    pub fn check(&self, peer: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() > MAX_TRACKED {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client_block(peer)).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

fn client_block(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_allowance_then_waits_while_others_are_unaffected() {
        let limiter = SignInLimiter::new(3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check(a), Ok(()));
        }
        let wait = limiter.check(a).expect_err("the fourth start within a minute is refused");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20), "one start refills every 20 s: {wait:?}");
        assert_eq!(limiter.check("192.0.2.2".parse().unwrap()), Ok(()), "another address has its own allowance");
    }

    #[test]
    fn ipv6_addresses_of_one_64_block_share_an_allowance() {
        let limiter = SignInLimiter::new(1);
        assert_eq!(limiter.check("2001:db8::1".parse().unwrap()), Ok(()));
        assert!(limiter.check("2001:db8::ffff:1".parse().unwrap()).is_err(), "same /64");
        assert_eq!(limiter.check("2001:db8:0:1::1".parse().unwrap()), Ok(()), "another /64");
        assert!(limiter.check("::ffff:192.0.2.9".parse().unwrap()).is_ok());
        assert!(limiter.check("192.0.2.9".parse().unwrap()).is_err(), "a v4-mapped address is its IPv4 address");
    }
}
