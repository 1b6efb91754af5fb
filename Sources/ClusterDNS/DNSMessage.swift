/// The one question of a DNS query (RFC 1035 §4.1.2), with the name as text: lower-cased, no
/// trailing dot.
public struct DNSQuestion: Hashable, Sendable {
    public var name: String
    public var type: UInt16
    public var qclass: UInt16
    /// Offset just past the question in the query: the bytes an answer copies back.
    public var end: Int

    public static let typeA: UInt16 = 1
}

/// What the cluster zone says about a question.
public enum DNSAnswer: Hashable, Sendable {
    /// NOERROR with these A records (none: the name exists but has no record of that type).
    case records([String])
    case nxdomain
    /// Not the cluster's: ask the host's resolver.
    case forward
}

/// The wire format, just enough for a stub resolver's query and an authoritative A answer.
public enum DNSMessage {
    /// The question of a standard query (QR=0, OPCODE=0, QDCOUNT=1); nil for anything else.
    public static func question(_ bytes: [UInt8]) -> DNSQuestion? {
        guard bytes.count >= 12, bytes[2] & 0x80 == 0, bytes[2] & 0x78 == 0, bytes[4] == 0, bytes[5] == 1 else { return nil }
        var labels: [String] = []
        var i = 12
        while true {
            guard i < bytes.count else { return nil }
            let n = Int(bytes[i])
            if n == 0 { i += 1; break }
            guard n < 64, i + 1 + n <= bytes.count else { return nil }
            labels.append(String(decoding: bytes[(i + 1)..<(i + 1 + n)], as: UTF8.self).lowercased())
            i += 1 + n
        }
        guard i + 4 <= bytes.count else { return nil }
        let type = UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
        let qclass = UInt16(bytes[i + 2]) << 8 | UInt16(bytes[i + 3])
        return DNSQuestion(name: labels.joined(separator: "."), type: type, qclass: qclass, end: i + 4)
    }

    /// An authoritative response to `query`: its ID, RD bit and question, then `answer`'s A
    /// records (for an A question) with `ttl`. RCODE 3 for NXDOMAIN.
    public static func response(to query: [UInt8], _ q: DNSQuestion, _ answer: DNSAnswer, ttl: UInt32) -> [UInt8] {
        var ips: [[UInt8]] = []
        var rcode: UInt8 = 0
        switch answer {
        case .records(let r) where q.type == DNSQuestion.typeA:
            ips = r.compactMap(octets)
        case .nxdomain, .forward:
            rcode = 3
        default: break
        }
        var out: [UInt8] = [query[0], query[1], 0x84 | (query[2] & 0x01), 0x80 | rcode, 0, 1]
        out += [UInt8(ips.count >> 8), UInt8(ips.count & 0xff), 0, 0, 0, 0]
        out += query[12..<q.end]
        for ip in ips {
            // A pointer to the question's name at offset 12, type A, class IN.
            out += [0xc0, 0x0c, 0, 1, 0, 1]
            out += [UInt8(ttl >> 24), UInt8(ttl >> 16 & 0xff), UInt8(ttl >> 8 & 0xff), UInt8(ttl & 0xff), 0, 4]
            out += ip
        }
        return out
    }

    static func octets(_ ip: String) -> [UInt8]? {
        let parts = ip.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        return parts.count == 4 ? parts : nil
    }
}

/// The cluster domain as CoreDNS's `kubernetes` plugin serves it: Service names from `records`,
/// `a-b-c-d.<namespace>.pod.<domain>` for pods (its `pods insecure` mode), NXDOMAIN for any other
/// name in the domain, and everything outside it forwarded.
public struct ClusterZone: Sendable {
    public var domain: String
    public var records: [String: [String]]

    public init(domain: String = "cluster.local", records: [String: [String]] = [:]) {
        self.domain = domain
        self.records = records
    }

    public func answer(_ name: String) -> DNSAnswer {
        guard name == domain || name.hasSuffix("." + domain) else { return .forward }
        if let ips = records[name] { return ips.isEmpty ? .nxdomain : .records(ips) }
        let labels = name.split(separator: ".")
        let domainLabels = domain.split(separator: ".").count
        if labels.count == 3 + domainLabels, labels[2] == "pod" {
            let ip = labels[0].replacingOccurrences(of: "-", with: ".")
            if DNSMessage.octets(ip) != nil { return .records([ip]) }
        }
        // `svc.cluster.local`, `default.svc.cluster.local`: names that exist with no records.
        let rest = labels.count - domainLabels
        if rest == 0 || (rest == 1 && ["svc", "pod"].contains(labels[0])) { return .records([]) }
        return .nxdomain
    }
}
