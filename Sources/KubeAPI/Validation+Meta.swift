extension Validation {
    /// `ValidateObjectMeta` with DNS-1123 subdomain names, for the kinds the API server admits
    /// with no more than their metadata checked (ServiceAccount, Node): the name format, the
    /// namespace rules, labels and annotations.
    public static func validateSubdomainNamedMeta(_ meta: ObjectMeta, namespaced: Bool) -> [FieldError] {
        validateObjectMeta(meta, namespaced: namespaced, name: isDNS1123Subdomain, path: "metadata")
    }
}
