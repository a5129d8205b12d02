//! The open connections, counted per address, per network and in total, and which to shed. A
//! connection is idle when no request is in flight on it: waiting for its first bytes, in a
//! TLS handshake, sending headers slowly, or kept alive between requests. When a new
//! connection would go over a limit, the oldest idle connection (of that address, of that
//! network, or of anyone for the total) is shed to make room; when none is idle the new
//! connection is refused. So connections that send nothing can never lock out a client that
//! does, whatever their number.
//!
//! An address has `max_per_client`; its network ([`ClientKey`]: an IPv6 /64) has
//! [`NETWORK_FACTOR`] times that. On a home network every IPv6 host shares one /64, so a
//! limit per /64 alone let one host holding its connections busy lock out every other IPv6
//! host; per address alone, one attacker with a /64 would have 2^64 addresses. Plain data,
//! unit-tested.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use tokio_util::sync::CancellationToken;

use crate::model::ClientKey;

/// How many addresses' worth of connections one network may hold.
pub(crate) const NETWORK_FACTOR: usize = 8;

struct Conn {
    addr: IpAddr,
    key: ClientKey,
    /// Requests in flight (a response body being sent counts until it ends).
    in_flight: u32,
    /// Cancelled to close the connection (shed, or shutdown).
    close: CancellationToken,
    /// Already told to close: no longer counted against the limits.
    shed: bool,
}

/// What to do with a new connection.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Serve it as connection `id`, `close` when told; first close the `shed` ones.
    Accept {
        id: u64,
        close: CancellationToken,
        shed: Vec<CancellationToken>,
    },
    /// Every connection that counts is busy: drop it.
    Refuse,
}

pub(crate) struct ConnTable {
    max_total: usize,
    max_per_client: usize,
    next_id: u64,
    /// By id: ids grow, so the first entries are the oldest.
    conns: BTreeMap<u64, Conn>,
    /// Counted (not shed) connections per address.
    per_addr: HashMap<IpAddr, usize>,
    /// Counted (not shed) connections per network.
    per_client: HashMap<ClientKey, usize>,
    counted: usize,
}

impl ConnTable {
    pub fn new(max_total: usize, max_per_client: usize) -> ConnTable {
        ConnTable {
            max_total: max_total.max(1),
            max_per_client: max_per_client.max(1),
            next_id: 0,
            conns: BTreeMap::new(),
            per_addr: HashMap::new(),
            per_client: HashMap::new(),
            counted: 0,
        }
    }

    /// Decide about a new connection from `addr`.
    pub fn admit(&mut self, addr: IpAddr) -> Admission {
        let addr = addr.to_canonical();
        let key = ClientKey::of(addr);
        let mut shed = Vec::new();
        if self.per_addr.get(&addr).copied().unwrap_or(0) >= self.max_per_client {
            match self.shed_oldest_idle(|c| c.addr == addr) {
                Some(close) => shed.push(close),
                None => return Admission::Refuse,
            }
        }
        let per_network = self.max_per_client.saturating_mul(NETWORK_FACTOR);
        if self.per_client.get(&key).copied().unwrap_or(0) >= per_network {
            match self.shed_oldest_idle(|c| c.key == key) {
                Some(close) => shed.push(close),
                None => return Admission::Refuse,
            }
        }
        if self.counted >= self.max_total {
            match self.shed_oldest_idle(|_| true) {
                Some(close) => shed.push(close),
                None => {
                    // Keep the per-client shed: that client is over its own limit anyway.
                    return Admission::Refuse;
                }
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        let close = CancellationToken::new();
        self.conns.insert(
            id,
            Conn {
                addr,
                key,
                in_flight: 0,
                close: close.clone(),
                shed: false,
            },
        );
        *self.per_addr.entry(addr).or_default() += 1;
        *self.per_client.entry(key).or_default() += 1;
        self.counted += 1;
        Admission::Accept { id, close, shed }
    }

    /// Mark the oldest idle counted connection that `which` picks as shed.
    fn shed_oldest_idle(&mut self, which: impl Fn(&Conn) -> bool) -> Option<CancellationToken> {
        let (&id, _) = self
            .conns
            .iter()
            .find(|(_, c)| !c.shed && c.in_flight == 0 && which(c))?;
        self.uncount(id);
        let conn = self.conns.get_mut(&id)?;
        conn.shed = true;
        Some(conn.close.clone())
    }

    fn uncount(&mut self, id: u64) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        if conn.shed {
            return;
        }
        let (addr, key) = (conn.addr, conn.key);
        self.counted -= 1;
        if let Some(n) = self.per_addr.get_mut(&addr) {
            *n -= 1;
            if *n == 0 {
                self.per_addr.remove(&addr);
            }
        }
        if let Some(n) = self.per_client.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.per_client.remove(&key);
            }
        }
    }

    /// A request started on connection `id`.
    pub fn request_started(&mut self, id: u64) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.in_flight += 1;
        }
    }

    /// A request (its whole response) ended on connection `id`.
    pub fn request_ended(&mut self, id: u64) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.in_flight = c.in_flight.saturating_sub(1);
        }
    }

    /// Connection `id` is closed.
    pub fn release(&mut self, id: u64) {
        self.uncount(id);
        self.conns.remove(&id);
    }

    /// Close every connection (shutdown).
    pub fn close_all(&self) {
        for c in self.conns.values() {
            c.close.cancel();
        }
    }

    /// Connections open, counted or on their way out.
    pub fn open(&self) -> usize {
        self.conns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    /// Host `n` of one IPv6 /64 (a home network's SLAAC addresses).
    fn v6(n: u16) -> IpAddr {
        IpAddr::from([0xfd00, 0, 0, 1, 0, 0, 0, n])
    }

    fn accept(t: &mut ConnTable, k: IpAddr) -> (u64, CancellationToken, usize) {
        match t.admit(k) {
            Admission::Accept { id, close, shed } => {
                for s in &shed {
                    s.cancel();
                }
                (id, close, shed.len())
            }
            Admission::Refuse => panic!("refused"),
        }
    }

    #[test]
    fn a_client_over_its_limit_sheds_its_own_oldest_idle_connection() {
        let mut t = ConnTable::new(100, 2);
        let (a, close_a, _) = accept(&mut t, key(1));
        let (_b, close_b, _) = accept(&mut t, key(1));
        let (_c, _, shed) = accept(&mut t, key(1));
        assert_eq!(shed, 1);
        assert!(
            close_a.is_cancelled() && !close_b.is_cancelled(),
            "the oldest goes"
        );
        // Another client is not affected by the first one's limit.
        let (_, _, shed) = accept(&mut t, key(2));
        assert_eq!(shed, 0);
        t.release(a);
        assert_eq!(t.open(), 3);
    }

    #[test]
    fn busy_connections_are_never_shed_and_a_full_table_refuses() {
        let mut t = ConnTable::new(2, 10);
        let (a, close_a, _) = accept(&mut t, key(1));
        let (b, close_b, _) = accept(&mut t, key(2));
        t.request_started(a);
        t.request_started(b);
        assert!(matches!(t.admit(key(3)), Admission::Refuse));
        t.request_ended(b);
        let (_, _, shed) = accept(&mut t, key(3));
        assert_eq!(shed, 1);
        assert!(close_b.is_cancelled() && !close_a.is_cancelled());
    }

    #[test]
    fn one_ipv6_host_cannot_lock_out_the_rest_of_its_network() {
        let mut t = ConnTable::new(1000, 4);
        // One host holds every connection it may, each busy (a body trickled in).
        for _ in 0..4 {
            let (id, _, _) = accept(&mut t, v6(1));
            t.request_started(id);
        }
        assert!(matches!(t.admit(v6(1)), Admission::Refuse));
        // Its neighbours on the same /64 still get in.
        for host in 2..=8 {
            let (id, _, shed) = accept(&mut t, v6(host));
            assert_eq!(shed, 0);
            t.request_started(id);
        }
        // The /64 as a whole is bounded (8 addresses' worth: 32 here, 11 open so far), so
        // many addresses of one network cannot take the whole table either.
        for host in 9..=29 {
            let (id, _, _) = accept(&mut t, v6(host));
            t.request_started(id);
        }
        assert!(matches!(t.admit(v6(99)), Admission::Refuse));
        // Another network is not affected.
        accept(&mut t, key(1));
    }

    #[test]
    fn silent_connections_cannot_lock_out_a_new_client() {
        let mut t = ConnTable::new(50, 10);
        let mut tokens = Vec::new();
        for i in 0..1_000u32 {
            let (_, close, _) = accept(&mut t, key((i % 100) as u8));
            tokens.push(close);
        }
        // Shed connections leave the count at once, even before their tasks end.
        assert!(tokens.iter().filter(|c| !c.is_cancelled()).count() <= 50);
        let (_, legit, _) = accept(&mut t, key(200));
        assert!(!legit.is_cancelled());
    }
}
