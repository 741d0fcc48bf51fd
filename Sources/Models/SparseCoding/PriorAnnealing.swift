import Foundation

extension SparseCodingTrainer {
    /// β_prior annealing (the weight of the prior entropy, es-sc.md "Annealing"), written one of two ways:
    /// - `START:EPOCHS`: β starts at START and falls linearly to 1 over EPOCHS epochs (`10:5`: 10, 8.2, 6.4, 4.6, 2.8);
    /// - `B1,B2,…`: β of each epoch in turn, then 1. The authors' EM-like schedule max(1, 2 (5 − epoch)) is `10,8,6,4,2`.
    public struct Annealing: Sendable, Equatable, Codable, CustomStringConvertible {
        public enum Schedule: Sendable, Equatable {
            case linear(start: Double, epochs: Int)
            case perEpoch([Double])
        }

        public var schedule: Schedule

        /// β falls linearly from `start` to 1 over `epochs` epochs.
        public init(start: Double, epochs: Int) {
            schedule = .linear(start: start, epochs: epochs)
        }

        /// β of each epoch in turn, then 1.
        public init(perEpoch betas: [Double]) {
            schedule = .perEpoch(betas)
        }

        /// Parses `START:EPOCHS` or `B1,B2,…`; nil for anything else.
        public init?(text: String) {
            if text.contains(":") {
                let parts = text.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 2, let start = Double(parts[0]), let epochs = Int(parts[1]) else { return nil }
                self.init(start: start, epochs: epochs)
            } else {
                let betas = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) }
                guard !betas.isEmpty, betas.allSatisfy({ $0 != nil }) else { return nil }
                self.init(perEpoch: betas.map { $0! })
            }
        }

        /// Epochs whose β may exceed 1.
        public var epochs: Int {
            switch schedule {
            case .linear(_, let epochs): epochs
            case .perEpoch(let betas): betas.count
            }
        }

        /// β_prior at `epoch` (0-based): 1 once the schedule has run out.
        public func betaPrior(epoch: Int) -> Double {
            switch schedule {
            case .linear(let start, let epochs):
                guard epochs > 0 else { return 1 }
                return max(1, start - (start - 1) * Double(epoch) / Double(epochs))
            case .perEpoch(let betas):
                return epoch < betas.count ? betas[epoch] : 1
            }
        }

        /// Every β is finite and at least 1, over at least one epoch.
        public var isValid: Bool {
            switch schedule {
            case .linear(let start, let epochs): start >= 1 && start.isFinite && epochs >= 1
            case .perEpoch(let betas): !betas.isEmpty && betas.allSatisfy { $0 >= 1 && $0.isFinite }
            }
        }

        public var description: String {
            switch schedule {
            case .linear(let start, let epochs): "\(start.shortDescription):\(epochs)"
            case .perEpoch(let betas): betas.map(\.shortDescription).joined(separator: ",")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(description)
        }

        public init(from decoder: any Decoder) throws {
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let annealing = Annealing(text: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                        debugDescription: "not START:EPOCHS nor B1,B2,…"))
            }
            self = annealing
        }
    }
}
