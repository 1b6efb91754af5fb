import Foundation
import KubeAPI

/// Sets of completion indexes and their `completedIndexes` text form
/// (pkg/controller/job/indexed_job_utils.go `orderedIntervals`, `parseIndexesFromString`).
enum CompletionIndexes {
    /// "1,3-5,7" → {1,3,4,5,7}, ignoring malformed parts and indexes ≥ `completions`, as the
    /// real parser does when the status was written by an older spec.
    static func parse(_ s: String?, completions: Int) -> Set<Int> {
        var out = Set<Int>()
        for part in (s ?? "").split(separator: ",") {
            let bounds = part.split(separator: "-", maxSplits: 1).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard let first = bounds.first, let lo = first else { continue }
            let hi = bounds.count == 2 ? (bounds[1] ?? lo) : lo
            guard lo <= hi else { continue }
            for i in lo...hi where i >= 0 && i < completions { out.insert(i) }
        }
        return out
    }

    /// {0,1,2,4,6,7} → "0-2,4,6,7" (`orderedIntervals.String`): only runs of three or more
    /// become a range; a run of two is written "6,7", as Go does.
    static func format(_ set: Set<Int>) -> String {
        let sorted = set.sorted()
        var parts: [String] = []
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
            if i == j {
                parts.append("\(sorted[i])")
            } else {
                parts.append("\(sorted[i])\(j == i + 1 ? "," : "-")\(sorted[j])")
            }
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// `getCompletionIndex`: the annotation, falling back to the label; nil when absent or
    /// not a non-negative integer.
    static func of(_ pod: Pod) -> Int? {
        let key = JobController.completionIndexKey
        let raw = pod.metadata.annotations?[key] ?? pod.metadata.labels?[key]
        guard let raw, let i = Int(raw), i >= 0 else { return nil }
        return i
    }
}

/// `spec.podFailurePolicy` (pkg/controller/job/pod_failure_policy.go), parsed from the JSON
/// the API types keep it as.
struct PodFailurePolicy: Sendable {
    struct Rule: Sendable {
        var action: String
        var containerName: String?
        var exitCodeOperator: String?
        var exitCodes: [Int64] = []
        var podConditions: [(type: String, status: String)] = []
    }

    var rules: [Rule]

    init?(_ json: JSONValue?) {
        guard let json, case .array(let items)? = json["rules"] else { return nil }
        rules = items.compactMap { item in
            guard let action = item["action"]?.stringValue else { return nil }
            var rule = Rule(action: action)
            if let codes = item["onExitCodes"] {
                rule.containerName = codes["containerName"]?.stringValue
                rule.exitCodeOperator = codes["operator"]?.stringValue
                if case .array(let values)? = codes["values"] {
                    rule.exitCodes = values.compactMap {
                        switch $0 {
                        case .int(let i): return i
                        case .double(let d): return Int64(d)
                        case .string(let s): return Int64(s)
                        default: return nil
                        }
                    }
                }
            }
            if case .array(let conditions)? = item["onPodConditions"] {
                rule.podConditions = conditions.compactMap { c in
                    guard let type = c["type"]?.stringValue else { return nil }
                    return (type, c["status"]?.stringValue ?? "True")
                }
            }
            return rule
        }
    }

    /// `matchPodFailurePolicy`: the first rule that matches a Failed pod, with the message
    /// the real controller puts in the Job's condition when the action is FailJob.
    func match(_ pod: Pod) -> (action: String, message: String)? {
        for (index, rule) in rules.enumerated() {
            if let op = rule.exitCodeOperator {
                let statuses = (pod.status?.containerStatuses ?? []) + (pod.status?.initContainerStatuses ?? [])
                for cs in statuses {
                    if let name = rule.containerName, name != cs.name { continue }
                    guard let t = cs.state.terminated, t.exitCode != 0 else { continue }
                    let inValues = rule.exitCodes.contains(Int64(t.exitCode))
                    if (op == "In" && inValues) || (op == "NotIn" && !inValues) {
                        return (rule.action, "Container \(cs.name) for pod \(pod.namespace)/\(pod.name) failed with exit code \(t.exitCode) matching \(rule.action) rule at index \(index)")
                    }
                }
            } else {
                for pc in rule.podConditions {
                    if let c = PodUtil.condition(pod, pc.type), c.status == pc.status {
                        return (rule.action, "Pod \(pod.namespace)/\(pod.name) has condition \(pc.type) matching \(rule.action) rule at index \(index)")
                    }
                }
            }
        }
        return nil
    }
}
