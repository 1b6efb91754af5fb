import KubeAPI

/// The kubelet's `/etc/resolv.conf` for a container (`dns.Configurer.GetPodDNS`): the cluster DNS
/// for `ClusterFirst` (the default) with the search path
/// `<namespace>.svc.<domain> svc.<domain> <domain>` before the host's and `options ndots:5`; the
/// host's own file for `Default` and for `hostNetwork` pods under `ClusterFirst`;
/// `spec.dnsConfig` merged on top (nameservers and searches appended, options by name).
public enum PodDNS {
    /// The file's text, or nil when the container keeps the host's `/etc/resolv.conf` unchanged.
    public static func resolvConf(pod: Pod, clusterDNS: String?, domain: String, host: String) -> String? {
        let hostConf = parse(host)
        var nameservers: [String]
        var searches: [String]
        var options: [(String, String?)]
        switch pod.spec.dnsPolicy ?? "ClusterFirst" {
        case "None":
            (nameservers, searches, options) = ([], [], [])
        case "ClusterFirstWithHostNet" where clusterDNS != nil, "ClusterFirst" where clusterDNS != nil && pod.spec.hostNetwork != true:
            nameservers = [clusterDNS!]
            searches = ["\(pod.namespace).svc.\(domain)", "svc.\(domain)", domain] + hostConf.searches
            options = [("ndots", "5")]
        default:
            if pod.spec.dnsConfig == nil { return nil }
            (nameservers, searches, options) = hostConf
        }
        if let config = pod.spec.dnsConfig {
            nameservers += list(config["nameservers"]).compactMap(\.stringValue)
            searches += list(config["searches"]).compactMap(\.stringValue)
            for o in list(config["options"]) {
                guard let name = o["name"]?.stringValue else { continue }
                let value = o["value"]?.stringValue
                if let i = options.firstIndex(where: { $0.0 == name }) { options[i].1 = value } else { options.append((name, value)) }
            }
        }
        var seen = Set<String>()
        searches = searches.filter { seen.insert($0).inserted }
        var text = nameservers.map { "nameserver \($0)\n" }.joined()
        if !searches.isEmpty { text += "search " + searches.joined(separator: " ") + "\n" }
        let optionWords: [String] = options.map { name, value in value.map { "\(name):\($0)" } ?? name }
        if !optionWords.isEmpty { text += "options " + optionWords.joined(separator: " ") + "\n" }
        return text
    }

    private static func list(_ v: JSONValue?) -> [JSONValue] {
        if case .array(let a)? = v { return a }
        return []
    }

    /// nameserver, search (or domain) and options lines of a resolv.conf.
    static func parse(_ text: String) -> (nameservers: [String], searches: [String], options: [(String, String?)]) {
        var ns: [String] = [], search: [String] = [], opts: [(String, String?)] = []
        for line in text.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let key = f.first, !key.hasPrefix("#"), !key.hasPrefix(";") else { continue }
            switch key {
            case "nameserver" where f.count > 1: ns.append(f[1])
            case "search", "domain": search = Array(f.dropFirst())
            case "options":
                for o in f.dropFirst() {
                    let kv = o.split(separator: ":", maxSplits: 1).map(String.init)
                    opts.append((kv[0], kv.count > 1 ? kv[1] : nil))
                }
            default: break
            }
        }
        return (ns, search, opts)
    }
}
