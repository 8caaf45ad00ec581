//! Which addresses a webhook may reach: the one classifier of the SSRF guard.
//!
//! An address is refused when it is not on the public internet: loopback, private, shared
//! (carrier-grade NAT), link-local (the cloud metadata address 169.254.169.254 among them),
//! multicast, unspecified, broadcast, documentation, benchmarking or reserved. IPv6 forms that
//! carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64
//! `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) are judged by the IPv4 address inside them.
//! Teredo (`2001::/32`) hides its client address and is refused whole. Any IPv6 address outside
//! global unicast (`2000::/3`) is refused as reserved.
//!
//! Spellings such as `0x7f000001`, `0177.0.0.1`, `2130706433` or `127.1` never reach this
//! module as text: the URL parser (WHATWG rules, the `url` crate) turns them into the address
//! they name, and this module judges the address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Why an address is refused; `Display` gives the words a person reads, e.g. `private address`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Loopback,
    Private,
    SharedNat,
    LinkLocal,
    Multicast,
    Unspecified,
    Broadcast,
    Documentation,
    Benchmarking,
    Reserved,
    Tunnelled,
}

impl fmt::Display for Refusal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Loopback => "loopback address",
            Self::Private => "private address",
            Self::SharedNat => "carrier-grade NAT address",
            Self::LinkLocal => "link-local address",
            Self::Multicast => "multicast address",
            Self::Unspecified => "unspecified address",
            Self::Broadcast => "broadcast address",
            Self::Documentation => "documentation address",
            Self::Benchmarking => "benchmarking address",
            Self::Reserved => "reserved address",
            Self::Tunnelled => "tunnelled address",
        })
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, length: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), length)
}

#[allow(
    clippy::too_many_arguments,
    reason = "the eight groups of an IPv6 address"
)]
const fn v6(a: u16, b: u16, c: u16, d: u16, e: u16, f: u16, g: u16, h: u16, length: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), length)
}

/// IANA's IPv4 special-purpose registry, as far as it concerns a sender; first match wins.
const IPV4_REFUSED: &[(Ipv4Net, Refusal)] = &[
    (v4(0, 0, 0, 0, 8), Refusal::Unspecified),
    (v4(10, 0, 0, 0, 8), Refusal::Private),
    (v4(100, 64, 0, 0, 10), Refusal::SharedNat),
    (v4(127, 0, 0, 0, 8), Refusal::Loopback),
    (v4(169, 254, 0, 0, 16), Refusal::LinkLocal),
    (v4(172, 16, 0, 0, 12), Refusal::Private),
    (v4(192, 0, 0, 0, 24), Refusal::Reserved),
    (v4(192, 0, 2, 0, 24), Refusal::Documentation),
    (v4(192, 31, 196, 0, 24), Refusal::Reserved),
    (v4(192, 52, 193, 0, 24), Refusal::Reserved),
    (v4(192, 88, 99, 0, 24), Refusal::Reserved),
    (v4(192, 168, 0, 0, 16), Refusal::Private),
    (v4(192, 175, 48, 0, 24), Refusal::Reserved),
    (v4(198, 18, 0, 0, 15), Refusal::Benchmarking),
    (v4(198, 51, 100, 0, 24), Refusal::Documentation),
    (v4(203, 0, 113, 0, 24), Refusal::Documentation),
    (v4(224, 0, 0, 0, 4), Refusal::Multicast),
    (v4(255, 255, 255, 255, 32), Refusal::Broadcast),
    (v4(240, 0, 0, 0, 4), Refusal::Reserved),
];

/// IPv6 ranges refused outright; the forms that embed IPv4 are handled before this table.
const IPV6_REFUSED: &[(Ipv6Net, Refusal)] = &[
    (v6(0, 0, 0, 0, 0, 0, 0, 0, 128), Refusal::Unspecified),
    (v6(0, 0, 0, 0, 0, 0, 0, 1, 128), Refusal::Loopback),
    (v6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0, 48), Refusal::Private),
    (v6(0x100, 0, 0, 0, 0, 0, 0, 0, 64), Refusal::Reserved),
    (v6(0x2001, 0, 0, 0, 0, 0, 0, 0, 32), Refusal::Tunnelled),
    (v6(0x2001, 2, 0, 0, 0, 0, 0, 0, 48), Refusal::Benchmarking),
    (v6(0x2001, 0x10, 0, 0, 0, 0, 0, 0, 28), Refusal::Reserved),
    (v6(0x2001, 0x20, 0, 0, 0, 0, 0, 0, 28), Refusal::Reserved),
    (
        v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0, 32),
        Refusal::Documentation,
    ),
    (v6(0x3fff, 0, 0, 0, 0, 0, 0, 0, 20), Refusal::Documentation),
    (v6(0x5f00, 0, 0, 0, 0, 0, 0, 0, 16), Refusal::Reserved),
    (v6(0xfc00, 0, 0, 0, 0, 0, 0, 0, 7), Refusal::Private),
    (v6(0xfe80, 0, 0, 0, 0, 0, 0, 0, 10), Refusal::LinkLocal),
    (v6(0xfec0, 0, 0, 0, 0, 0, 0, 0, 10), Refusal::Private),
    (v6(0xff00, 0, 0, 0, 0, 0, 0, 0, 8), Refusal::Multicast),
];

const IPV4_MAPPED: Ipv6Net = v6(0, 0, 0, 0, 0, 0xffff, 0, 0, 96);
const IPV4_COMPATIBLE: Ipv6Net = v6(0, 0, 0, 0, 0, 0, 0, 0, 96);
const NAT64: Ipv6Net = v6(0x64, 0xff9b, 0, 0, 0, 0, 0, 0, 96);
const SIX_TO_FOUR: Ipv6Net = v6(0x2002, 0, 0, 0, 0, 0, 0, 0, 16);
const GLOBAL_UNICAST: Ipv6Net = v6(0x2000, 0, 0, 0, 0, 0, 0, 0, 3);

/// Why `address` may not be reached, or None for a public address.
pub fn classify(address: IpAddr) -> Option<Refusal> {
    match address {
        IpAddr::V4(address) => classify_v4(address),
        IpAddr::V6(address) => classify_v6(address),
    }
}

fn classify_v4(address: Ipv4Addr) -> Option<Refusal> {
    IPV4_REFUSED
        .iter()
        .find(|(range, _)| range.contains(&address))
        .map(|(_, refusal)| *refusal)
}

fn classify_v6(address: Ipv6Addr) -> Option<Refusal> {
    if let Some(inner) = embedded_v4(address) {
        // `::`, `::1` and the like are refused by the table, not as 0.0.0.x.
        let table = IPV6_REFUSED
            .iter()
            .find(|(range, _)| range.contains(&address));
        if let Some((_, refusal)) = table {
            return Some(*refusal);
        }
        return classify_v4(inner).or(
            // IPv4-compatible addresses are deprecated: nothing public is reached through them.
            IPV4_COMPATIBLE
                .contains(&address)
                .then_some(Refusal::Reserved),
        );
    }
    if let Some((_, refusal)) = IPV6_REFUSED
        .iter()
        .find(|(range, _)| range.contains(&address))
    {
        return Some(*refusal);
    }
    (!GLOBAL_UNICAST.contains(&address)).then_some(Refusal::Reserved)
}

/// The IPv4 address an IPv6 address carries, for the forms that carry one.
fn embedded_v4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let octets = address.octets();
    if IPV4_MAPPED.contains(&address)
        || IPV4_COMPATIBLE.contains(&address)
        || NAT64.contains(&address)
    {
        return Some(Ipv4Addr::new(
            octets[12], octets[13], octets[14], octets[15],
        ));
    }
    if SIX_TO_FOUR.contains(&address) {
        return Some(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]));
    }
    None
}

/// The ranges an operator allows despite the classifier (`webhook_allow_cidrs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<IpNet>);

impl AllowList {
    /// Comma-separated CIDRs, e.g. `127.0.0.0/8,::1/128`; blanks are skipped.
    pub fn parse(ranges: &[String]) -> Result<Self, String> {
        ranges
            .iter()
            .flat_map(|entry| entry.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .map_err(|_| format!("{entry:?} is not a CIDR range such as 127.0.0.0/8"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn allows(&self, address: IpAddr) -> bool {
        let canonical = address.to_canonical();
        self.0
            .iter()
            .any(|range| range.contains(&address) || range.contains(&canonical))
    }

    /// Why `address` may not be reached, or None when it is public or allowed.
    pub fn check(&self, address: IpAddr) -> Result<(), Refusal> {
        match classify(address) {
            Some(refusal) if !self.allows(address) => Err(refusal),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_special_range_is_refused_and_public_addresses_pass() {
        use Refusal::*;
        let table: &[(&str, Option<Refusal>)] = &[
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(Unspecified)),
            ("10.0.0.1", Some(Private)),
            ("10.255.255.255", Some(Private)),
            ("100.64.0.1", Some(SharedNat)),
            ("100.127.255.254", Some(SharedNat)),
            ("100.128.0.1", None),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("169.254.169.254", Some(LinkLocal)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.1", None),
            ("192.0.0.8", Some(Reserved)),
            ("192.0.2.1", Some(Documentation)),
            ("192.88.99.1", Some(Reserved)),
            ("192.168.1.1", Some(Private)),
            ("198.18.0.1", Some(Benchmarking)),
            ("198.19.255.255", Some(Benchmarking)),
            ("198.20.0.1", None),
            ("198.51.100.7", Some(Documentation)),
            ("203.0.113.9", Some(Documentation)),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.250", Some(Multicast)),
            ("240.0.0.1", Some(Reserved)),
            ("255.255.255.255", Some(Broadcast)),
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:10.0.0.1", Some(Private)),
            ("::ffff:8.8.8.8", None),
            ("::127.0.0.1", Some(Loopback)),
            ("::8.8.8.8", Some(Reserved)),
            ("64:ff9b::127.0.0.1", Some(Loopback)),
            ("64:ff9b::a9fe:a9fe", Some(LinkLocal)),
            ("64:ff9b::8.8.8.8", None),
            ("64:ff9b:1::1", Some(Private)),
            ("100::1", Some(Reserved)),
            ("2001::1", Some(Tunnelled)),
            ("2001:2::1", Some(Benchmarking)),
            ("2001:db8::1", Some(Documentation)),
            ("2002:7f00:1::", Some(Loopback)),
            ("2002:a00:1::1", Some(Private)),
            ("2002:808:808::1", None),
            ("3fff::1", Some(Documentation)),
            ("fc00::1", Some(Private)),
            ("fd12:3456::1", Some(Private)),
            ("fe80::1", Some(LinkLocal)),
            ("febf::1", Some(LinkLocal)),
            ("fec0::1", Some(Private)),
            ("ff02::1", Some(Multicast)),
            ("4000::1", Some(Reserved)),
            ("2606:4700:4700::1111", None),
            ("2a00:1450:4001:80e::200e", None),
        ];
        for (text, expected) in table {
            let address: IpAddr = text.parse().expect("a valid address");
            assert_eq!(classify(address), *expected, "{text}");
        }
    }

    #[test]
    fn an_allowed_range_lets_its_addresses_through_in_either_form() {
        let allowed = AllowList::parse(&["127.0.0.1/32, ::1/128".to_owned()]).unwrap();
        let check = |text: &str| allowed.check(text.parse().unwrap());
        assert_eq!(check("127.0.0.1"), Ok(()));
        assert_eq!(check("::ffff:127.0.0.1"), Ok(()));
        assert_eq!(check("::1"), Ok(()));
        assert_eq!(check("127.0.0.2"), Err(Refusal::Loopback));
        assert_eq!(check("10.0.0.1"), Err(Refusal::Private));
        assert_eq!(check("8.8.8.8"), Ok(()));
        assert_eq!(
            AllowList::parse(&["10.0.0.0/33".to_owned()]).unwrap_err(),
            "\"10.0.0.0/33\" is not a CIDR range such as 127.0.0.0/8"
        );
        assert_eq!(
            AllowList::parse(&[String::new()]).unwrap(),
            AllowList::default()
        );
    }
}
