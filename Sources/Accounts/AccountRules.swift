/// Rules for account names and passwords.
public enum AccountRules {
    /// 3-32 characters of `[A-Za-z0-9_.-]`.
    public static func isValidName(_ name: String) -> Bool {
        guard (3...32).contains(name.utf8.count) else { return false }
        return name.utf8.allSatisfy { byte in
            (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                || byte == 0x5F || byte == 0x2E || byte == 0x2D
        }
    }

    public static let minimumPasswordLength = 8
    /// bcrypt only reads the first 72 bytes; longer passwords are refused rather than silently truncated.
    public static let maximumPasswordBytes = 72

    public static func isValidPassword(_ password: String) -> Bool {
        password.count >= minimumPasswordLength && password.utf8.count <= maximumPasswordBytes
    }
}
