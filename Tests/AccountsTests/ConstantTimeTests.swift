import Accounts
import Testing

@Suite struct ConstantTimeTests {
    @Test func equalSecretsAreEqual() {
        #expect(ConstantTime.equals("operator password", "operator password"))
        #expect(ConstantTime.equals("", ""))
        #expect(ConstantTime.equals(Array("tok.sig".utf8), Array("tok.sig".utf8)))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
    }

    @Test(arguments: [
        ("operator password", "Operator password"),  // first byte
        ("operator password", "operator passworD"),  // last byte
        ("operator password", "operator passwor"),  // a prefix
        ("operator password", "operator password "),  // longer
        ("operator password", ""),
        ("😀", "😁"),
    ])
    func secretsThatDifferAnywhereAreNotEqual(a: String, b: String) {
        #expect(!ConstantTime.equals(a, b))
        #expect(!ConstantTime.equals(b, a))
        #expect(!ConstantTime.equals(Array(a.utf8), Array(b.utf8)))
        #expect(!ConstantTime.equals(Array(b.utf8), Array(a.utf8)))
    }

    @Test func aZeroPaddedSecretIsNotTheSecret() {
        // Padding the shorter side with zeros must not make a prefix plus NULs equal.
        #expect(!ConstantTime.equals([1, 2, 0] as [UInt8], [1, 2] as [UInt8]))
    }
}
