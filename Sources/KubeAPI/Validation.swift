import Foundation

/// API server validation, with the API server's field paths and messages, so that a bad manifest
/// is refused by Tandem with the words `kubectl apply` would print against a real cluster.
///
/// Mirrors `pkg/apis/core/validation/validation.go`, `pkg/apis/batch/validation/validation.go`,
/// `pkg/apis/apps/validation/validation.go` and the message helpers of
/// `k8s.io/apimachinery/pkg/util/validation`. Validation runs on the *defaulted* object, as in the
/// API server (so a Job template without `restartPolicy` is seen as `Always`).
public enum Validation {
    public static func validate(_ object: KubeObject) -> [FieldError] {
        switch object {
        case .pod(let pod): return validatePod(pod)
        case .job(let job): return validateJob(job)
        case .cronJob(let cronJob): return validateCronJob(cronJob)
        case .deployment(let deployment): return validateDeployment(deployment)
        case .replicaSet(let replicaSet): return validateReplicaSet(replicaSet)
        case .configMap(let configMap): return validateConfigMap(configMap)
        case .secret(let secret): return validateSecret(secret)
        case .service(let service): return validateService(service)
        case .namespace(let namespace): return validateNamespace(namespace)
        }
    }

    /// `ValidatePodCreate`: metadata with a DNS-subdomain name, then the spec.
    static func validatePod(_ pod: Pod) -> [FieldError] {
        var errs = validateObjectMeta(pod.metadata, namespaced: true, name: isDNS1123Subdomain, path: "metadata")
        errs += validatePodSpec(pod.spec, path: "spec", context: .pod)
        return errs
    }

    // MARK: ObjectMeta

    /// `ValidateObjectMeta`: name (or generateName) in the kind's name format, namespace a DNS
    /// label for namespaced kinds and absent for cluster-scoped ones, labels and annotations.
    public static func validateObjectMeta(_ meta: ObjectMeta, namespaced: Bool, name nameFn: (String) -> [String], path: String) -> [FieldError] {
        var errs: [FieldError] = []
        let name = meta.name ?? ""
        let generateName = meta.generateName ?? ""
        if !generateName.isEmpty {
            // ValidateNameFunc with prefix=true: a trailing dash is allowed, the suffix comes later.
            let masked = generateName.hasSuffix("-") ? String(generateName.dropLast()) + "a" : generateName
            for msg in nameFn(masked) { errs.append(.invalid("\(path).generateName", q(generateName), msg)) }
        }
        if name.isEmpty {
            if generateName.isEmpty { errs.append(.required("\(path).name", "name or generateName is required")) }
        } else {
            for msg in nameFn(name) { errs.append(.invalid("\(path).name", q(name), msg)) }
        }
        let namespace = meta.namespace ?? ""
        if namespaced {
            if !namespace.isEmpty {
                for msg in isDNS1123Label(namespace) { errs.append(.invalid("\(path).namespace", q(namespace), msg)) }
            }
        } else if !namespace.isEmpty {
            errs.append(.forbidden("\(path).namespace", "not allowed on this type"))
        }
        errs += validateLabels(meta.labels, path: "\(path).labels")
        errs += validateAnnotations(meta.annotations, path: "\(path).annotations")
        return errs
    }

    /// `ValidateLabels`: keys are qualified names, values label values. The path is the map's,
    /// not the key's, as in the API server.
    static func validateLabels(_ labels: [String: String]?, path: String) -> [FieldError] {
        var errs: [FieldError] = []
        for key in (labels ?? [:]).keys.sorted() {
            for msg in isQualifiedName(key) { errs.append(.invalid(path, q(key), msg)) }
            let value = labels![key]!
            for msg in isValidLabelValue(value) { errs.append(.invalid(path, q(value), msg)) }
        }
        return errs
    }

    /// `ValidateAnnotations`: lower-cased keys are qualified names; the total size is at most 256 KiB.
    static func validateAnnotations(_ annotations: [String: String]?, path: String) -> [FieldError] {
        var errs: [FieldError] = []
        var total = 0
        for key in (annotations ?? [:]).keys.sorted() {
            for msg in isQualifiedName(key.lowercased()) { errs.append(.invalid(path, q(key), msg)) }
            total += key.utf8.count + annotations![key]!.utf8.count
        }
        if total > 256 * 1024 { errs.append(FieldError(.tooLong(value: "", max: 256 * 1024), path)) }
        return errs
    }

    /// `ValidateLabelSelector` for `matchLabels` and `matchExpressions`.
    static func validateLabelSelector(_ selector: LabelSelector, path: String) -> [FieldError] {
        var errs = validateLabels(selector.matchLabels, path: "\(path).matchLabels")
        for (i, req) in (selector.matchExpressions ?? []).enumerated() {
            let p = "\(path).matchExpressions[\(i)]"
            switch req.operator {
            case "In", "NotIn":
                if (req.values ?? []).isEmpty { errs.append(.required("\(p).values", "must be specified when `operator` is 'In' or 'NotIn'")) }
            case "Exists", "DoesNotExist":
                if !(req.values ?? []).isEmpty { errs.append(.forbidden("\(p).values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")) }
            default:
                errs.append(.invalid("\(p).operator", q(req.operator), "not a valid selector operator"))
            }
            for msg in isQualifiedName(req.key) { errs.append(.invalid("\(p).key", q(req.key), msg)) }
        }
        return errs
    }

    /// `ValidateNonnegativeField`.
    static func nonNegative<T: BinaryInteger>(_ value: T?, _ path: String) -> [FieldError] {
        guard let value, value < 0 else { return [] }
        return [.invalid(path, String(value), "must be greater than or equal to 0")]
    }
}

// MARK: - Name and value formats (k8s.io/apimachinery/pkg/util/validation)

extension Validation {
    static let dns1123LabelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
    static let dns1123SubdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
    static let dns1035LabelMessage = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"
    static let qualifiedNameMessage = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"

    /// `validation.RegexError`: the message, examples (joined with the API server's double space) and the regex.
    static func regexError(_ msg: String, _ regex: String, _ examples: String...) -> String {
        var s = msg + " (e.g. "
        for (i, e) in examples.enumerated() {
            if i > 0 { s += " or " }
            s += "'\(e)', "
        }
        return s + "regex used for validation is '\(regex)')"
    }

    static func maxLenError(_ n: Int) -> String { "must be no more than \(n) characters" }

    private static func isLowerAlnum(_ c: Character) -> Bool { c.isASCII && (c.isLowercase || c.isNumber) }
    private static func isAlnum(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
    static func matchesDNS1123Label(_ s: String) -> Bool {
        guard let f = s.first, let l = s.last, isLowerAlnum(f), isLowerAlnum(l) else { return false }
        return s.allSatisfy { isLowerAlnum($0) || $0 == "-" }
    }

    /// `validation.IsDNS1123Label`.
    static func isDNS1123Label(_ s: String) -> [String] {
        var errs: [String] = []
        if s.count > 63 { errs.append(maxLenError(63)) }
        if !matchesDNS1123Label(s) { errs.append(regexError(dns1123LabelMessage, "[a-z0-9]([-a-z0-9]*[a-z0-9])?", "my-name", "123-abc")) }
        return errs
    }

    /// `validation.IsDNS1123Subdomain`.
    public static func isDNS1123Subdomain(_ s: String) -> [String] {
        var errs: [String] = []
        if s.count > 253 { errs.append(maxLenError(253)) }
        let ok = !s.isEmpty && s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { matchesDNS1123Label(String($0)) }
        if !ok {
            errs.append(regexError(dns1123SubdomainMessage, "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", "example.com"))
        }
        return errs
    }

    /// `validation.IsDNS1035Label` (Service names).
    public static func isDNS1035Label(_ s: String) -> [String] {
        var errs: [String] = []
        if s.count > 63 { errs.append(maxLenError(63)) }
        let ok = s.first.map { $0.isASCII && $0.isLowercase } == true && matchesDNS1123Label(s)
        if !ok { errs.append(regexError(dns1035LabelMessage, "[a-z]([-a-z0-9]*[a-z0-9])?", "my-name", "abc-123")) }
        return errs
    }

    /// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
    static func matchesQualifiedNamePart(_ s: String) -> Bool {
        guard let f = s.first, let l = s.last, isAlnum(f), isAlnum(l) else { return false }
        return s.allSatisfy { isAlnum($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }

    /// `validation.IsQualifiedName`: an optional DNS-subdomain prefix and `/`, then a name part.
    static func isQualifiedName(_ value: String) -> [String] {
        var errs: [String] = []
        let parts = value.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let name: String
        switch parts.count {
        case 1:
            name = parts[0]
        case 2:
            let prefix = parts[0]
            name = parts[1]
            if prefix.isEmpty {
                errs.append("prefix part must be non-empty")
            } else {
                errs += isDNS1123Subdomain(prefix).map { "prefix part " + $0 }
            }
        default:
            return ["a qualified name " + regexError(qualifiedNameMessage, "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
        }
        if name.isEmpty {
            errs.append("name part must be non-empty")
        } else if name.count > 63 {
            errs.append("name part " + maxLenError(63))
        }
        if !matchesQualifiedNamePart(name) {
            errs.append("name part " + regexError(qualifiedNameMessage, "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", "MyName", "my.name", "123-abc"))
        }
        return errs
    }

    /// `validation.IsValidLabelValue`.
    static func isValidLabelValue(_ value: String) -> [String] {
        var errs: [String] = []
        if value.count > 63 { errs.append(maxLenError(63)) }
        if !value.isEmpty && !matchesQualifiedNamePart(value) {
            errs.append(regexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                                   "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", "MyValue", "my_value", "12345"))
        }
        return errs
    }

    /// `hasChDirPrefix`, part of `IsConfigMapKey`.
    private static func chDirErrors(_ value: String) -> [String] {
        if value == "." { return ["must not be '.'"] }
        if value == ".." { return ["must not be '..'"] }
        if value.hasPrefix("..") { return ["must not start with '..'"] }
        return []
    }

    /// `validation.IsRelaxedEnvVarName`, which 1.32 applies to env names and envFrom prefixes
    /// (`RelaxedEnvironmentVariableValidation`, beta and on): any printable ASCII but `=`.
    static func isRelaxedEnvVarName(_ value: String) -> [String] {
        if value.unicodeScalars.allSatisfy({ (0x20...0x7e).contains($0.value) && $0 != "=" }) { return [] }
        return ["a valid environment variable name must consist only of printable ASCII characters other than '='"]
    }

    /// `validation.IsConfigMapKey` (`[-._a-zA-Z0-9]+`, at most 253 characters).
    static func isConfigMapKey(_ value: String) -> [String] {
        var errs: [String] = []
        if value.count > 253 { errs.append(maxLenError(253)) }
        if value.isEmpty || !value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }) {
            errs.append(regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", "[-._a-zA-Z0-9]+", "key.name", "KEY_NAME", "key-name"))
        }
        return errs + chDirErrors(value)
    }

    /// `validation.IsValidPortNum`.
    static func isValidPortNum<T: BinaryInteger>(_ port: T) -> [String] {
        (1...65535).contains(Int(port)) ? [] : ["must be between 1 and 65535, inclusive"]
    }

    /// `validation.IsValidPortName` (an IANA service name).
    static func isValidPortName(_ port: String) -> [String] {
        var errs: [String] = []
        if port.count > 15 { errs.append(maxLenError(15)) }
        if port.isEmpty || !port.allSatisfy({ isLowerAlnum($0) || $0 == "-" }) {
            errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
        }
        if !port.contains(where: { $0.isASCII && $0.isLowercase }) { errs.append("must contain at least one letter (a-z)") }
        if port.contains("--") { errs.append("must not contain consecutive hyphens") }
        if port.hasPrefix("-") || port.hasSuffix("-") { errs.append("must not begin or end with a hyphen") }
        return errs
    }

    /// `ValidatePortNumOrName`.
    static func validatePortNumOrName(_ port: IntOrString, _ path: String) -> [FieldError] {
        switch port {
        case .int(let n): return isValidPortNum(n).map { .invalid(path, String(n), $0) }
        case .string(let s): return isValidPortName(s).map { .invalid(path, q(s), $0) }
        }
    }
}

// MARK: - Printing values the way the API server does (Go's %q and %#v)

extension Validation {
    /// Go's `%q` for a string.
    static func q(_ s: String) -> String { GoSyntax.quote(s) }

    /// `%#v` of a `map[string]string`.
    static func goMap(_ m: [String: String]?) -> String {
        guard let m else { return "map[string]string(nil)" }
        return "map[string]string{" + m.keys.sorted().map { "\(q($0)):\(q(m[$0]!))" }.joined(separator: ", ") + "}"
    }

    /// `%#v` of an `intstr.IntOrString` (its `String()` has a pointer receiver, so Go prints the struct).
    static func goIntOrString(_ v: IntOrString?) -> String {
        switch v {
        case .int(let i)?: return "intstr.IntOrString{Type:0, IntVal:\(i), StrVal:\"\"}"
        case .string(let s)?: return "intstr.IntOrString{Type:1, IntVal:0, StrVal:\(q(s))}"
        case nil: return "null"
        }
    }

    /// `%#v` of a `metav1.LabelSelector`.
    static func goSelector(_ s: LabelSelector) -> String {
        let exprs: String
        if let e = s.matchExpressions {
            exprs = "[]v1.LabelSelectorRequirement{" + e.map { r in
                "v1.LabelSelectorRequirement{Key:\(q(r.key)), Operator:\(q(r.operator)), Values:" + (r.values.map { "[]string{" + $0.map(q).joined(separator: ", ") + "}" } ?? "[]string(nil)") + "}"
            }.joined(separator: ", ") + "}"
        } else {
            exprs = "[]v1.LabelSelectorRequirement(nil)"
        }
        return "v1.LabelSelector{MatchLabels:\(goMap(s.matchLabels)), MatchExpressions:\(exprs)}"
    }
}
