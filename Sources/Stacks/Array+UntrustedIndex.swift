extension Array {
    /// The element at `index` (an index read from untrusted input); nil out of bounds.
    func element(_ index: Int32) -> Element? {
        index >= 0 && Int(index) < count ? self[Int(index)] : nil
    }
}
