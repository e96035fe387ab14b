import Crypto
import Foundation

/// Comparisons of secrets (passwords, tokens, ticket strings) whose time does not depend on where, or whether, the
/// two differ. `==` on `String` or `[UInt8]` stops at the first differing byte, which lets a patient client learn a
/// secret one byte at a time.
public enum ConstantTime {
    /// Whether two byte sequences are equal, in time that depends only on their lengths (and tells nothing about
    /// where they differ). Unequal lengths answer false after the same loop over the longer one.
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        let x = Array(a)
        let y = Array(b)
        let length = max(x.count, y.count)
        var difference: UInt8 = x.count == y.count ? 0 : 1
        for index in 0..<length {
            let left = index < x.count ? x[index] : 0
            let right = index < y.count ? y[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }

    /// Whether two secret strings are equal: compares their SHA-256 digests in constant time, so that neither the
    /// position of a difference nor the secret's length shows in the time taken.
    public static func equals(_ a: String, _ b: String) -> Bool {
        equals(Array(SHA256.hash(data: Data(a.utf8))), Array(SHA256.hash(data: Data(b.utf8))))
    }
}
