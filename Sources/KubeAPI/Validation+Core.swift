import Foundation

/// Validation of the core/v1 objects that travel with Pods (Service, ConfigMap, Secret,
/// Namespace), and the checks the real API server makes while *decoding* (quantities, base64),
/// before any validation runs.
extension Validation {
    // MARK: Decode-time checks

    static let quantityFormatMessage = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

    /// What `resource.ParseQuantity` and `base64.StdEncoding` refuse while the API server
    /// unmarshals the request body. These fail the whole request with the bare Go error (no field
    /// path), as `<Kind> in version "v1" cannot be handled as a <Kind>: …`; `Manifest.decode`
    /// reports them that way, before defaulting and validation.
    public static func decodeErrors(_ object: KubeObject) -> [FieldError] {
        var errs: [FieldError] = []
        func quantity(_ q: Quantity?) {
            guard let q, errs.isEmpty, let problem = quantityProblem(q.string) else { return }
            errs.append(FieldError(.typeMismatch, "", problem))
        }
        func podSpec(_ spec: PodSpec) {
            for c in (spec.initContainers ?? []) + spec.containers {
                for (_, v) in (c.resources?.limits ?? [:]).sorted(by: { $0.key < $1.key }) { quantity(v) }
                for (_, v) in (c.resources?.requests ?? [:]).sorted(by: { $0.key < $1.key }) { quantity(v) }
                for e in c.env ?? [] { quantity(e.valueFrom?.resourceFieldRef?.divisor) }
            }
            for (_, v) in (spec.overhead ?? [:]) { quantity(v) }
            for (_, v) in (spec.resources?.limits ?? [:]) { quantity(v) }
            for (_, v) in (spec.resources?.requests ?? [:]) { quantity(v) }
            for v in spec.volumes ?? [] {
                quantity(v.emptyDir?.sizeLimit)
                for item in v.downwardAPI?.items ?? [] { quantity(item.resourceFieldRef?.divisor) }
            }
        }
        func base64(_ data: [String: String]?) {
            for key in (data ?? [:]).keys.sorted() where errs.isEmpty {
                if let offset = base64ErrorOffset(data![key]!) {
                    errs.append(FieldError(.typeMismatch, "", "illegal base64 data at input byte \(offset)"))
                }
            }
        }
        switch object {
        case .pod(let o): podSpec(o.spec)
        case .job(let o): podSpec(o.spec.template.spec)
        case .cronJob(let o): podSpec(o.spec.jobTemplate.spec.template.spec)
        case .deployment(let o): podSpec(o.spec.template.spec)
        case .replicaSet(let o): podSpec(o.spec.template.spec)
        case .secret(let o): base64(o.data)
        case .configMap(let o): base64(o.binaryData)
        case .service, .namespace: break
        }
        return errs
    }

    /// `resource.ParseQuantity`'s error for `s`, or nil when it is a quantity. Scans as
    /// `parseQuantityString` does: a sign, digits, a `.` and digits (each part may be empty, so `.`,
    /// `-` and `Gi` are all zero), then suffix letters, a sign and digits; anything after that
    /// breaks the format, and a suffix that is neither a known one nor a decimal exponent is
    /// `ErrSuffix`.
    static func quantityProblem(_ s: String) -> String? {
        let b = Array(s.utf8)
        guard !b.isEmpty else { return quantityFormatMessage }
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        var pos = b[0] == UInt8(ascii: "+") || b[0] == UInt8(ascii: "-") ? 1 : 0
        while pos < b.count, isDigit(b[pos]) { pos += 1 }
        if pos < b.count, b[pos] == UInt8(ascii: ".") {
            pos += 1
            while pos < b.count, isDigit(b[pos]) { pos += 1 }
        }
        let suffixStart = pos
        while pos < b.count, "eEinumkKMGTP".utf8.contains(b[pos]) { pos += 1 }
        if pos < b.count, b[pos] == UInt8(ascii: "+") || b[pos] == UInt8(ascii: "-") { pos += 1 }
        while pos < b.count, isDigit(b[pos]) { pos += 1 }
        guard pos == b.count else { return quantityFormatMessage }
        let suffix = String(decoding: b[suffixStart...], as: UTF8.self)
        let known = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"]
        if known.contains(suffix) { return nil }
        // A decimal exponent: e or E and an integer (`strconv.ParseInt`, so optionally signed).
        if let first = suffix.first, first == "e" || first == "E", Int64(suffix.dropFirst()) != nil { return nil }
        return "unable to parse quantity's suffix"
    }

    /// The offset Go's `base64.StdEncoding.DecodeString` reports as `CorruptInputError`, or nil.
    /// Follows `decodeQuantum` step by step (newlines skipped, padding rules, trailing garbage).
    static func base64ErrorOffset(_ s: String) -> Int? {
        let src = Array(s.utf8)
        func isAlphabet(_ b: UInt8) -> Bool {
            (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 43 || b == 47
        }
        func isNewline(_ b: UInt8) -> Bool { b == 10 || b == 13 }
        var si = 0
        while si < src.count {
            var j = 0
            while j < 4 {
                if si == src.count {
                    return j == 0 ? nil : si - j
                }
                let c = src[si]
                si += 1
                if isAlphabet(c) { j += 1; continue }
                if isNewline(c) { continue }
                if c != 61 { return si - 1 }
                // Padding.
                if j < 2 { return si - 1 }
                if j == 2 {
                    while si < src.count && isNewline(src[si]) { si += 1 }
                    if si == src.count { return src.count }
                    if src[si] != 61 { return si - 1 }
                    si += 1
                }
                while si < src.count && isNewline(src[si]) { si += 1 }
                return si < src.count ? si : nil
            }
        }
        return nil
    }

    // MARK: Service

    /// `ValidateService` (create): DNS-1035 name, ports, type and session affinity.
    static func validateService(_ service: Service) -> [FieldError] {
        var errs = validateObjectMeta(service.metadata, namespaced: true, name: isDNS1035Label, path: "metadata")
        let spec = service.spec ?? ServiceSpec()
        let ports = spec.ports ?? []
        let headless = spec.clusterIP == "None"
        let type = spec.type ?? ""
        if ports.isEmpty && !headless && type != "ExternalName" { errs.append(.required("spec.ports")) }
        if type == "ExternalName" {
            let name = spec.externalName ?? ""
            if name.isEmpty {
                errs.append(.required("spec.externalName"))
            } else {
                errs += isDNS1123Subdomain(name).map { .invalid("spec.externalName", q(name), $0) }
            }
        }
        var names = Set<String>()
        for (i, port) in ports.enumerated() {
            let p = "spec.ports[\(i)]"
            let name = port.name ?? ""
            if ports.count > 1 && name.isEmpty {
                errs.append(.required("\(p).name"))
            } else if !name.isEmpty {
                errs += isDNS1123Label(name).map { .invalid("\(p).name", q(name), $0) }
                if names.contains(name) { errs.append(.duplicate("\(p).name", name)) } else { names.insert(name) }
            }
            errs += isValidPortNum(port.port).map { .invalid("\(p).port", String(port.port), $0) }
            switch port.protocol ?? "" {
            case "TCP", "UDP", "SCTP": break
            case "": errs.append(.required("\(p).protocol"))
            case let other: errs.append(.notSupported("\(p).protocol", other, ["SCTP", "TCP", "UDP"]))
            }
            if let target = port.targetPort { errs += validatePortNumOrName(target, "\(p).targetPort") }
            if let nodePort = port.nodePort, nodePort != 0 {
                errs += isValidPortNum(nodePort).map { .invalid("\(p).nodePort", String(nodePort), $0) }
                if type == "ClusterIP" { errs.append(.forbidden("\(p).nodePort", "may not be used when `type` is 'ClusterIP'")) }
            }
            if headless, let target = port.targetPort, target != .int(Int(port.port)) {
                errs.append(.invalid("\(p).targetPort", target.description, "must be equal to the value of 'port' when clusterIP = None"))
            }
        }
        // Two ports may not share a (protocol, port) pair; the error shows the pair as the
        // `core.ServicePort` it is keyed by.
        var pairs = Set<String>()
        for (i, port) in ports.enumerated() {
            let key = #"core.ServicePort{Name:"", Protocol:"\#(port.protocol ?? "")", AppProtocol:(*string)(nil), Port:\#(port.port), "#
                + #"TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}"#
            if !pairs.insert(key).inserted { errs.append(FieldError(.duplicateRaw(value: key), "spec.ports[\(i)]")) }
        }
        errs += validateClusterIPs(spec)
        errs += validateLabels(spec.selector, path: "spec.selector")
        switch spec.sessionAffinity ?? "" {
        case "None", "ClientIP": break
        case "": errs.append(.required("spec.sessionAffinity"))
        case let other: errs.append(.notSupported("spec.sessionAffinity", other, ["ClientIP", "None"]))
        }
        switch type {
        case "ClusterIP", "ExternalName", "LoadBalancer", "NodePort": break
        case "": errs.append(.required("spec.type"))
        default: errs.append(.notSupported("spec.type", type, ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]))
        }
        return errs
    }

    /// `validateServiceClusterIPsRelatedFields`: each of `spec.clusterIPs` (defaulted from
    /// `spec.clusterIP`) an IP address, `None` only alone and never for a NodePort or LoadBalancer.
    static func validateClusterIPs(_ spec: ServiceSpec) -> [FieldError] {
        var errs: [FieldError] = []
        let ips = spec.clusterIPs ?? spec.clusterIP.map { [$0] } ?? []
        if let single = spec.clusterIP, !single.isEmpty, let first = ips.first, first != single {
            errs.append(.invalid("spec.clusterIPs", "[]string{\(ips.map(q).joined(separator: ", "))}", "element [0] must match clusterIP"))
        }
        for (i, ip) in ips.enumerated() {
            let path = "spec.clusterIPs[\(i)]"
            if ip == "None" {
                if i > 0 || ips.count > 1 { errs.append(.invalid(path, q(ip), "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")) }
                if let type = spec.type, type == "NodePort" || type == "LoadBalancer" {
                    errs.append(.invalid(path, q(ip), "may not be set to 'None' for \(type) services"))
                }
            } else if !ip.isEmpty && !isIPAddress(ip) {
                errs.append(.invalid(path, q(ip), "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
            }
        }
        return errs
    }

    /// `netutils.ParseIPSloppy != nil`: dotted-quad IPv4 or IPv6 text.
    static func isIPAddress(_ s: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, s, &v4) == 1 || inet_pton(AF_INET6, s, &v6) == 1
    }

    // MARK: ConfigMap, Secret, Namespace

    static let maxDataSize = 1024 * 1024

    /// `ValidateConfigMap`.
    static func validateConfigMap(_ cm: ConfigMap) -> [FieldError] {
        var errs = validateObjectMeta(cm.metadata, namespaced: true, name: isDNS1123Subdomain, path: "metadata")
        var total = 0
        for key in (cm.data ?? [:]).keys.sorted() {
            errs += isConfigMapKey(key).map { .invalid("data[\(key)]", q(key), $0) }
            if cm.binaryData?[key] != nil { errs.append(.invalid("data[\(key)]", q(key), "duplicate of key present in binaryData")) }
            total += cm.data![key]!.utf8.count
        }
        for key in (cm.binaryData ?? [:]).keys.sorted() {
            errs += isConfigMapKey(key).map { .invalid("binaryData[\(key)]", q(key), $0) }
            if cm.data?[key] != nil { errs.append(.invalid("binaryData[\(key)]", q(key), "duplicate of key present in data")) }
            total += cm.binaryData![key]!.utf8.count * 3 / 4
        }
        if total > maxDataSize { errs.append(FieldError(.tooLong(value: "", max: maxDataSize), "")) }
        return errs
    }

    /// `ValidateSecret`. `stringData` is merged into `data` by the API server's conversion, so
    /// its keys are reported as `data[key]`.
    static func validateSecret(_ secret: Secret) -> [FieldError] {
        var errs = validateObjectMeta(secret.metadata, namespaced: true, name: isDNS1123Subdomain, path: "metadata")
        var keys = Set((secret.data ?? [:]).keys)
        keys.formUnion((secret.stringData ?? [:]).keys)
        var total = 0
        for key in keys.sorted() {
            errs += isConfigMapKey(key).map { .invalid("data[\(key)]", q(key), $0) }
            total += (secret.stringData?[key]?.utf8.count) ?? ((secret.data?[key]?.utf8.count ?? 0) * 3 / 4)
        }
        if total > maxDataSize { errs.append(FieldError(.tooLong(value: "", max: maxDataSize), "data")) }
        func required(_ key: String) { if !keys.contains(key) { errs.append(.required("data[\(key)]")) } }
        switch secret.type ?? "" {
        case "kubernetes.io/tls": required("tls.crt"); required("tls.key")
        case "kubernetes.io/dockerconfigjson": required(".dockerconfigjson")
        case "kubernetes.io/dockercfg": required(".dockercfg")
        case "kubernetes.io/ssh-auth": required("ssh-privatekey")
        case "kubernetes.io/basic-auth":
            if !keys.contains("username") && !keys.contains("password") { required("username"); required("password") }
        default: break
        }
        return errs
    }

    /// `ValidateNamespace`: a DNS label, cluster-scoped.
    static func validateNamespace(_ ns: Namespace) -> [FieldError] {
        validateObjectMeta(ns.metadata, namespaced: false, name: isDNS1123Label, path: "metadata")
    }
}
