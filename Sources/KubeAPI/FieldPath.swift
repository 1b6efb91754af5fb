/// Field paths of the downward API (`k8s.io/kubernetes/pkg/fieldpath`).
public enum FieldPath {
    /// `SplitMaybeSubscriptedPath`: `metadata.labels['app']` → (`metadata.labels`, `app`);
    /// nil when the path has no subscript.
    public static func splitMaybeSubscripted(_ fieldPath: String) -> (path: String, key: String)? {
        guard fieldPath.hasSuffix("']") else { return nil }
        let s = fieldPath.dropLast(2)
        guard let r = s.range(of: "['") else { return nil }
        let path = String(s[..<r.lowerBound])
        guard !path.isEmpty else { return nil }
        return (path, String(s[r.upperBound...]))
    }
}
