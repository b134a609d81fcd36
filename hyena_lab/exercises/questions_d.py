"""Quiz questions of chapter 6 (the FFT as matrix multiplies): data only, in the format described
in :mod:`.questions`. Every number is counted by :mod:`hyena_lab.monarch` or asserted by the
chapter; ``tests/test_quiz.py`` recomputes them."""

# (text, feedback) pairs read better two lines per option than one item per line
# fmt: off
CHAPTER_6 = [
    {
        "section": "Sec. 4.4; FlashFFTConv (chapter 6, Section 2)",
        "prompt": "The four-step factorisation writes the DFT of length $N = ab$ as a product of "
        "four sparse factors, $F_N = P\\,(I_a \\otimes F_b)\\,T\\,(F_a \\otimes I_b)$. What do the "
        "factors compute?",
        "options": [
            ("Two FFTs of half the length and a butterfly that combines them",
             "That is one radix-2 step of the FFT, $a = 2$. The four-step form works for any "
             "$a b$: its factors are whole batches of small DFTs, not butterflies."),
            ("b DFTs of length a, a diagonal of twiddles, a DFTs of length b, a permutation", None),
            ("A tiling of the dense N x N product into blocks that are computed one at a time",
             "A tiling still does all $N^2$ multiply-adds. The factors are sparse: together "
             "they hold $N(a + b) + 2N$ nonzeros, which is why they cost $8N(a + b)$ FLOPs, not "
             "$8N^2$."),
            ("A low-rank approximation of F_N, exact only up to round-off in float64",
             "$F_N$ has full rank ($F_N F_N^* = N I$); the factorisation is an identity, exact "
             "in exact arithmetic, not an approximation."),
        ],
        "explanation": "$F_a \\otimes I_b$ runs $b$ DFTs of length $a$ (strided), $T$ "
        "multiplies by the twiddles $\\omega_N^{k_1 n_2}$, $I_a \\otimes F_b$ runs $a$ DFTs of "
        "length $b$, and $P$ reorders the outputs. Each batch of small DFTs is one batched "
        "matrix product, which tensor cores run; that is the Monarch structure FlashFFTConv "
        "builds on.",
    },
    {
        "section": "Sec. 4.4 (chapter 6, Section 3)",
        "prompt": "Count the real FLOPs of `monarch.fft` at $N = 4096$ with factors $(64, 64)$, "
        "as chapter 6 counts them: a complex multiply-add is 8 FLOPs, a twiddle product 6.",
        "value": 4218880,
        "tolerance": 0,
        "unit": "FLOPs",
        "traps": [
            (134217728, "That is the dense DFT, $8N^2$: the factorisation exists to avoid it."),
            (4194304, "Close: that is the two stages of small DFTs, $8N(a + b)$. The diagonal "
             "of twiddles between them costs $6N$ more."),
            (245760, "That is the radix-2 FFT's $5N \\log_2 N$: the matrix form does about 17x "
             "more FLOPs, on units that run 15.6x faster."),
        ],
        "hint": "Each of the two stages is $N / f$ DFTs of $f^2$ complex multiply-adds; add one "
        "twiddle diagonal of $N$ complex products (`monarch.fft_flops`).",
        "explanation": "$8N(a + b) + 6N = 8 \\cdot 4096 \\cdot 128 + 6 \\cdot 4096$: two stages "
        "of 64 DFTs of length 64 ($64^2$ complex multiply-adds each, 8 FLOPs apiece) and one "
        "twiddle diagonal. That is 32x fewer than the dense $8N^2$ and about 17x more than a "
        "radix-2 FFT's $5N \\log_2 N$, on tensor cores that run 15.6x faster.",
    },
    {
        "section": "Sec. 4.4 (chapter 6, Section 3)",
        "prompt": "The cost model puts the matrix-product FFT ahead of a radix-2 FFT when only "
        "compute counts, yet the full roofline predicts a tie for a standalone FFT. Why?",
        "options": [
            ("Tensor cores cannot multiply complex numbers, so the gain is lost in conversions",
             "A complex matrix product is four real ones (or three): tensor cores run it at "
             "their full rate, which is how the model counts it."),
            ("The matrix form does more FLOPs than the FFT, which cancels the faster units",
             "It does more (about 7-17x at $N = 4096$), but on units 15.6x faster: with factors "
             "of 16 the compute floor still favours it by 1.6x. The tie has another cause."),
            ("Both read and write the same bytes, and at that intensity both wait on memory", None),
            ("A standalone FFT is compute-bound on every GPU, so both run at the fp32 rate",
             "Reversed: its intensity, $5 \\log_2 N / 8$ FLOP/byte in bf16, lies below even the "
             "fp32 ridge (17.3 on the H100) for every $N \\le 2^{24}$: it is memory-bound."),
        ],
        "explanation": "A standalone FFT reads its input and writes its output once; at "
        "$5 \\log_2 N / 8$ FLOP/byte it sits below the ridge, so its floor is the bytes, the same "
        "for both forms. The tensor cores only pay inside a fused kernel that does the FFT, the "
        "product with the filter's spectrum, the inverse and the gates per byte moved.",
    },
    {
        "section": "Sec. 2.1 (chapter 6, Section 4; chapter 1)",
        "prompt": "`monarch.fftconv(u, k, factors=...)` computes a causal convolution of length "
        "$L$ with an FFT of size $n = \\prod$ factors. Which sizes does it accept?",
        "options": [
            ("Only powers of two, as every FFT needs",
             "The four-step form works for any composite $n$, and a prime $n$ is one dense DFT: "
             "chapter 6 runs $L = 97$ and factors $(3, 3, 11)$."),
            ("Any n >= L, since the output has L entries",
             "The linear convolution has $2L - 1$ entries; with $n < 2L - 1$ its tail wraps "
             "around onto the first outputs (chapter 1's circular convolution)."),
            ("Exactly n = 2L, the size the FFT convolution always pads to",
             "$2L$ is the default (`balanced_factors(2L)`), not a requirement: any $n \\ge 2L - "
             "1$ keeps the wrapped tail out of the first $L$ outputs."),
            ("Any n >= 2L - 1, whatever its factors", None),
        ],
        "explanation": "A product of spectra is a circular convolution of length $n$; the linear "
        "convolution of two length-$L$ signals has $2L - 1$ entries, so any $n \\ge 2L - 1$ leaves "
        "the first $L$ outputs exact. Factors $(7, 14)$, $n = 98$, are refused at $L = 50$.",
    },
    {
        "section": "FlashFFTConv; Monarch (chapter 6, Section 5)",
        "prompt": "Chapter 6 fits the block factors $L, R$ of a Monarch product to $F_{16}$ by "
        "gradient descent: the loss falls below $10^{-10}$, yet the learned $R$ differs from the "
        "DFT's blocks. What happened?",
        "options": [
            ("The fit found another exact transform than the DFT, equally good for convolution",
             "The product of the learned factors *is* $F_{16}$, to $10^{-5}$: the same transform. "
             "Only how it is split between the factors differs."),
            ("A diagonal scaling moved between the two factors: the split is not unique", None),
            ("Float32 round-off: in float64 the blocks would match the DFT's",
             "The difference is O(1) (above 5% relative), far beyond round-off, and $R F^{-1}$ "
             "is diagonal: a systematic rescaling, not noise."),
            ("The loss measures the wrong thing; the fit did not converge",
             "The loss fell by ten orders of magnitude and the product matches $F_{16}$: it "
             "converged, to one of many equivalent factorisations."),
        ],
        "explanation": "An invertible diagonal $D$ can be taken out of one factor and put into "
        "the other ($D$ moved through a permutation stays diagonal): the factorisation is unique "
        "only up to such a gauge. The chapter checks it: $R F^{-1}$ is diagonal to $10^{-5}$. "
        "Many exact settings is also why the factors can be *learned* at all.",
    },
]
# fmt: on
