"""Quiz questions of chapters 1 (long convolutions) and 2 (Hyena matrices): data only, in the
format described in :mod:`.questions`. Every number quoted here is printed or asserted by the
chapter, or counted by the package; ``tests/test_quiz.py`` recomputes them."""

# (text, feedback) pairs read better two lines per option than one item per line
# fmt: off
CHAPTER_1 = [
    {
        "section": "Sec. 2.1, 3.2 (chapter 1, eq. 1-2)",
        "prompt": "A causal convolution with a filter as long as the input, $y_t = \\sum_{s=0}^{t} "
        "h_{t-s}\\, u_s$, is a matrix-vector product $y = S_h u$. What kind of matrix is $S_h$?",
        "options": [
            ("Upper triangular and Toeplitz, with the filter h along its first row",
             "That is the transposed, anti-causal convention: entries above the diagonal would "
             "let $y_t$ read $u_s$ with $s > t$, the future. In a causal convolution every "
             "nonzero entry $(S_h)_{ts} = h_{t-s}$ has $t \\ge s$: on or below the diagonal."),
            ("Lower triangular and Toeplitz, with the filter h as its first column", None),
            ("Circulant: entry (t, s) is h[(t - s) mod L], every row a rotation of the filter",
             "That is the matrix an FFT of length $L$ computes (eq. 3), the *circular* "
             "convolution. Its upper triangle holds the filter's tail wrapped around, which lets "
             "the future leak into the past; $S_h$ is only its lower triangle."),
            ("Diagonal, diag(h): each output is its own input times one tap",
             "A diagonal matrix mixes no positions: that is a gate ($D_x$ in chapter 2), an "
             "element-wise product. A convolution sums over all past positions, so row $t$ of "
             "$S_h$ has $t + 1$ nonzero entries."),
        ],
        "explanation": "$(S_h)_{ts} = h_{t-s}$ for $t \\ge s$ and 0 above the diagonal. The entry "
        "depends only on $t - s$, so the same filter acts at every position (time invariance: "
        "Toeplitz), and $y_t$ never reads $u_s$ with $s > t$ (causality: lower triangular). Its "
        "first column is $h$ itself.",
    },
    {
        "section": "Sec. 2.1 (chapter 1, Section 2)",
        "prompt": "How does chapter 1 test that a convolution routine is **causal**?",
        "options": [
            ("Perturb the inputs from t0 on; the outputs before t0 must not move beyond round-off",
             None),
            ("Perturb the inputs before t0, and check that the outputs from t0 on change "
             "accordingly",
             "That tests that the past reaches the future, which any convolution with nonzero "
             "taps does. Causality is the other direction: the future must not reach the past."),
            ("Require fftconv to equal direct_conv bit for bit: any difference is a leak",
             "A correct `fftconv` mixes all positions inside the FFT and un-mixes them again, so "
             "it differs from the definition by round-off although nothing leaks. The test "
             "compares the past's change with the FFT's error bound (`fftconv_error_bound`); a "
             "real leak moves the past by something of the size of the change."),
            ("Check that the output has exactly as many positions as the input, L of them",
             "The circular (unpadded) FFT convolution also returns $L$ outputs, and it is not "
             "causal: the length says nothing about which inputs each output reads."),
        ],
        "explanation": "A model that predicts the next token must not see it: $y_t$ may depend on "
        "$u_0, \\dots, u_t$ only. Perturb the future ($u_s$ for $s \\ge t_0$) and compare "
        "$y_{<t_0}$: `direct_conv` keeps it bit-identical, `fftconv` moves it by round-off, within "
        "`fftconv_error_bound`, while the future outputs change by O(1).",
    },
    {
        "section": "Sec. 2.1, 3.4 (chapter 1, eq. 3-5)",
        "prompt": "Why does `fftconv` zero-pad $u$ and $h$ to length $2L$ before its FFTs?",
        "options": [
            ("Because FFTs only work on lengths that are powers of two, which padding provides",
             "`torch.fft` accepts any length, and $2L$ need not be a power of two: the chapter "
             "checks $L$ = 7, 31, 257 and 1000. The padding is about wrap-around, not about the "
             "FFT's length."),
            ("To make the spectrum finer, so that the product of spectra is accurate enough",
             "An FFT of length $L$ is exact too, up to round-off, for the *circular* convolution. "
             "The problem is which convolution it computes: without padding the error is O(1), "
             "not round-off."),
            ("Because an FFT product is a circular convolution; at length 2L nothing wraps around",
             None),
            ("Because rfft returns only L/2 + 1 frequency bins, which loses half of the signal",
             "A real signal's spectrum is conjugate-symmetric, so $L/2 + 1$ bins hold all of it: "
             "`rfft` loses nothing. The padding would be needed with complex FFTs too."),
        ],
        "explanation": "The convolution theorem turns a circular convolution into a pointwise "
        "product (eq. 3). With $N = L$ the filter's tail wraps onto the start, $(h \\circledast_L "
        "u)_t = z_t + z_{t+L}$ (eq. 5). Padded to $2L$, the $2L - 1$ nonzero terms of $z = h * u$ "
        "fit, and its first $L$ are eq. (1) (eq. 4).",
    },
    {
        "section": "Sec. 2.1 (chapter 1, Section 3)",
        "prompt": "Take $u = e_{L-1}$, a single impulse at the last position, and the decaying "
        "filter $h_j = e^{-j/4}$, and convolve them with an FFT of length $L$, **without** "
        "padding. What are the outputs $y_0, \\dots, y_{L-2}$?",
        "options": [
            ("All zero, exactly as for the causal convolution",
             "That is what `direct_conv` and the padded `fftconv` give: an impulse at $t = L - 1$ "
             "can only answer at $t = L - 1$. Without padding it wraps around."),
            ("Noise of the size of float64 round-off",
             "Round-off is what the *padded* `fftconv` leaves before $t = L - 1$. Without padding "
             "the error is O(1): $y_0 = h_1 = e^{-1/4} \\approx 0.78$."),
            ("The filter itself, unshifted: y_t = h_t",
             "That is the response to an impulse at $t = 0$, the first column of $S_h$. The "
             "impulse at $L - 1$ reaches the start through the wrap-around one tap later: $y_t = "
             "h_{t+1}$."),
            ("The filter shifted by one tap, y_t = h_(t+1)", None),
        ],
        "explanation": "With $N = L$ the index $(t - s) \\bmod L$ is $L + t - s$ for $s > t$: the "
        "*future* input $u_{L-1}$ enters $y_t$ with the tap $h_{t+1}$. The circulant $C_h$ is "
        "$S_h$ plus the filter's tail in the upper triangle.",
    },
    {
        "section": "Sec. 2.1 (chapter 1, Section 4)",
        "prompt": "Counting per channel as `hyena_lab.roofline` does, which statement about the "
        "work of one causal convolution is right?",
        "options": [
            ("The dense mat-vec S_h u costs O(L log L) FLOP as well, because S_h is a Toeplitz "
             "matrix",
             "The Toeplitz structure is what the FFT exploits; a dense mat-vec ignores it: it "
             "multiplies the zeros above the diagonal too ($2L^2$ FLOP) and reads all $L^2$ "
             "entries of $S_h$."),
            ("direct_conv: L(L + 1) FLOP; fftconv: about 15 L log2(2L); O(L^2) against O(L log L)",
             None),
            ("fftconv counts fewer FLOPs than direct_conv at every length L, even at L = 2",
             "The FFT pays for three transforms of length $2L$, so at short $L$ the definition "
             "needs fewer FLOPs. Counted, `fftconv` does less from $L = 125$ on, and about 70x "
             "less at $L = 2^{14}$."),
            ("Both are O(L^2); the FFT's advantage is only a smaller constant in front of L^2",
             "The FFT path grows like $L \\log L$: on log-log axes its slope is about 1.1 over $L "
             "= 2^{10} \\dots 2^{14}$, against exactly 2 for the definition and the dense "
             "mat-vec."),
        ],
        "explanation": "Output $t$ of the definition sums $t + 1$ products: $L(L+1)/2$ "
        "multiply-adds. `fftconv` runs three real FFTs of length $2L$ ($u$, $h$ and the inverse) "
        "at $2.5\\, n \\log_2 n$ FLOP each, and $L + 1$ complex products of 6 FLOP. Both counts "
        "scale with the channels, so the channels do not move the crossover.",
    },
    {
        "section": "Sec. 2.1 (chapter 1, Section 4)",
        "prompt": "Count FLOPs as chapter 1 does: `direct_conv` $L(L+1)$; `fftconv` three real "
        "FFTs of length $2L$ at $2.5\\, n \\log_2 n$ each, plus $6(L+1)$. From which length $L$ on "
        "does `fftconv` count fewer FLOPs than `direct_conv`, at that and every longer length?",
        "value": 125,
        "tolerance": 0,
        "traps": [
            (279, "That counts each FFT as a *complex* one, $5\\, n \\log_2 n$. `fftconv` runs "
             "real FFTs (`torch.fft.rfft`), which cost about half: $2.5\\, n \\log_2 n$."),
            (78, "That leaves out one of the three FFTs: `fftconv` transforms $u$ *and* the "
             "filter $h$, then transforms the product back."),
        ],
        "hint": "Compare $L(L+1)$ with $15\\, L \\log_2(2L) + 6(L+1)$ (`roofline.direct_conv_cost` "
        "and `roofline.fftconv_cost` with one channel) and find the smallest $L$ from which the "
        "FFT's count is the smaller one.",
        "explanation": "At $L = 124$ the definition counts 15,500 FLOP against about 15,545 for "
        "the FFT path; at $L = 125$, 15,750 against about 15,692. Both counts are proportional to "
        "the channels, so the crossover is the same for any $d$ (`counted_crossover`).",
    },
    {
        "section": "Sec. 2.1, 4.4 (chapter 1, Section 1)",
        "prompt": "The longest sequences of the paper's speed benchmark (Fig. 4.3) have $L = "
        "65{,}536$ tokens. How many GiB would one dense float32 $S_h$ take, for a single channel?",
        "value": 16,
        "tolerance": 0.05,
        "unit": "GiB",
        "traps": [
            (8, "Only the lower triangle holds nonzeros, but a dense $S_h$ stores all $L^2$ "
             "entries, the zeros above the diagonal included."),
            (32, "That is float64, 8 bytes per entry; the question asks float32, 4 bytes."),
            (0.000244, "That is the filter $h$, $L$ numbers. $S_h$ has $L^2$ entries."),
        ],
        "hint": "Count the entries of the $L \\times L$ matrix, times 4 bytes; 1 GiB is $2^{30}$ "
        "bytes.",
        "explanation": "$L^2 = 2^{32}$ entries of 4 bytes are $2^{34}$ bytes = 16 GiB per channel, "
        "$L(L-1)/2$ of them zeros. The FFT path never forms $S_h$: it keeps $u$, $h$ and their "
        "spectra, O(L) numbers.",
    },
]

CHAPTER_2 = [
    {
        "section": "Sec. 3.2; Algorithm 1",
        "prompt": "In $y = A(u)\\,v$ with $A(u) = D_x^N S_h^N \\cdots D_x^1 S_h^1$, what is "
        "$D_x^n$?",
        "options": [
            ("The diagonal matrix of the gate x^n, a projection of the input", None),
            ("A Toeplitz matrix whose filter is computed from the input",
             "That mixes up the two kinds of factor. The Toeplitz factors $S_h^n$ hold the long "
             "filters, which are parameters, the same for every input; the input enters only "
             "through the diagonals $D_x^n$."),
            ("The softmax of Q K^T / sqrt(d) over the positions, as in attention",
             "That is attention's data-controlled matrix. Hyena computes no pairwise scores: a "
             "gate is one number per position and channel, hence a *diagonal* matrix."),
            ("The exponential decay window of the implicit filter, one per step",
             "The window multiplies the filter (chapter 3), so it lives inside $S_h^n$, and it "
             "does not depend on the input. $D_x^n$ is a gate."),
        ],
        "explanation": "A gate multiplies element-wise, $x \\odot w = D_x w$ with $D_x = "
        "\\mathrm{diag}(x_0, \\dots, x_{L-1})$. The $N$ gates and the value $v$ are the $N + 1$ "
        "projections of the input (Algorithm 1): a linear map over the channels, then a short "
        "causal depthwise convolution. The Toeplitz factors $S_h^n$ hold the filters, which do not "
        "depend on the input.",
    },
    {
        "section": "Sec. 3.2",
        "prompt": "Feed two different inputs $u_1 \\ne u_2$ to the same trained Hyena operator. "
        "Which factors of $A(u)$ differ between the two?",
        "options": [
            ("All of them: the filters h^n are computed by an FFN from the input",
             "The FFN reads the positional encoding of $t$, not the input: the filters are "
             "functions of position, fixed once trained. Chapter 2 checks that every $S_h^n$ is "
             "bit-for-bit the same for different inputs."),
            ("None: A(u) is one fixed matrix, as for a convolution",
             "That is the *ungated* long convolution $y = S_h v$. Hyena's gates change with the "
             "input and $A(u)$ with them: the chapter measures a relative change above $10^{-2}$."),
            ("Only the S_h^n; the gates are learned constants",
             "Reversed: the gates are projections of the input, different for every $u$; the "
             "filters are parameters, the same for every $u$."),
            ("Only the gates D_x^n; every S_h^n is the same for both inputs", None),
        ],
        "explanation": "$A(u)$ is *data-controlled* through its diagonals. The Toeplitz factors "
        "hold filters that are parameters, so no $S_h^n$ changes with $u$. A constant input makes "
        "the gates constant, and $A(u)$ becomes a plain convolution (Toeplitz).",
    },
    {
        "section": "Sec. 3.1, Def. 3.1",
        "prompt": "What does the **order** $N$ of Definition 3.1 count?",
        "options": [
            ("N gates but only N - 1 long convolutions, the first step being a gate",
             "That is the official code's `order`: its `order=o` layer has $o$ gates and $o - 1$ "
             "long convolutions (an identity first filter, $S_h^1 = I$). The paper's order $N$ "
             "exports as official order $N + 1$."),
            ("The number of Hyena layers (blocks) stacked in the language model",
             "$N$ lives inside one operator: the steps $z^{n+1} = x^n \\odot (h^n * z^n)$ of its "
             "recurrence. How many blocks a model stacks is a separate choice."),
            ("N long convolutions and N gates, from N + 1 projections", None),
            ("The number of taps of the short convolution in the projections",
             "The short convolution has 3 taps (`short_filter_order = 3`) at every order; $N$ "
             "counts long convolutions and gates."),
        ],
        "explanation": "Def. 3.1: $z^1 = v$, $z^{n+1} = x^n \\odot (h^n * z^n)$ for $n = 1, "
        "\\dots, N$, $y = z^{N+1}$. Each step is one long convolution $S_h^n$ followed by one gate "
        "$D_x^n$: $N$ of each, from $N + 1$ projections.",
    },
    {
        "section": "Sec. 3.1, Remark 3.2",
        "prompt": "H3 computes $y = q \\odot "
        "\\mathrm{SSM}_\\text{diag}\\big(\\mathrm{SSM}_\\text{shift}(k) \\odot v\\big)$. How does "
        "the Hyena paper read it?",
        "options": [
            ("As a Hyena of order 1: one gated convolution",
             "Order 1 is $y = D_x S_h v$, one gate and one convolution: GSS, not H3. H3 has two "
             "gates ($q$ and $k$) and two SSMs."),
            ("As a Hyena of order 3, since it has three projections q, k and v",
             "An order-$N$ operator has $N + 1$ projections, $N$ gates and a value: $q$, $k$ are "
             "the two gates and $v$ the value, so order 2."),
            ("As no Hyena at all: a different kind of operator",
             "As a matrix acting on $v$, H3 is a product of diagonal gates ($D_q$, $D_k$) and "
             "Toeplitz SSM matrices ($S_\\psi$, $S_\\varphi$): exactly the form of Definition "
             "3.1, with SSM filters."),
            ("As a Hyena of order 2 with SSM filters: D_q S_psi D_k S_phi", None),
        ],
        "explanation": "$D_x^2 \\leftrightarrow D_q$, $S_h^2 \\leftrightarrow S_\\psi$ (the "
        "diagonal SSM, a long decaying filter), $D_x^1 \\leftrightarrow D_k$, $S_h^1 "
        "\\leftrightarrow S_\\varphi$ (the shift SSM, a short filter). Read as acting on $v$, the "
        "shift belongs to how the gate is computed: the official code's layout, one long "
        "convolution between two gates.",
    },
    {
        "section": "Sec. 3.2",
        "prompt": "Why is $A(u)$ lower triangular, although no mask is applied anywhere?",
        "options": [
            ("Because the operator applies a causal mask to A(u) after building it",
             "Attention needs a mask because $QK^\\top$ is a full matrix. Hyena never builds "
             "$A(u)$ and never masks: every factor is already lower triangular or diagonal."),
            ("It is a product of lower-triangular and diagonal matrices", None),
            ("Because the gates D_x^n are zero above the diagonal, like a mask",
             "A diagonal matrix has no entries off its diagonal at all, above or below. The "
             "triangle comes from the Toeplitz factors of causal filters."),
            ("It is not: the gates let every output read the whole input",
             "The gate of row $t$ multiplies by $x^n_t$, one number at position $t$: it reads no "
             "other position. The chapter asserts `torch.equal(A, torch.tril(A))` at orders 1 to "
             "4."),
        ],
        "explanation": "Every $S_h^n$ is lower-triangular Toeplitz (a causal convolution) and "
        "every $D_x^n$ diagonal. Products of lower-triangular matrices are lower triangular, so "
        "$A(u)_{ts} = 0$ for $s > t$. More: row $t$ involves only gates at positions $\\le t$, and "
        "the projections are causal, so changing the input after $t_0$ leaves the top-left $t_0 "
        "\\times t_0$ block of $A(u)$ untouched.",
    },
    {
        "section": "Sec. 2.2, 3.2; App. D.1",
        "prompt": "Compare Hyena's $A(u)$ with a causal softmax attention matrix on the same "
        "input. Which statement is right?",
        "options": [
            ("Both have rows that are probability distributions, non-negative and summing to 1",
             "Only attention's rows are (softmax). $A(u)$ is a product of signed gates and "
             "filters: the chapter asserts negative entries and rows that do not sum to 1."),
            ("A(u) is Toeplitz, the attention matrix is not",
             "Each $S_h^n$ is Toeplitz, but the gates break the constant diagonals (a deviation "
             "above $10^{-2}$ on a random input). Only where the input is constant, e.g. a "
             "repeated token, is $A(u)$ Toeplitz."),
            ("A(u) is fixed, the attention matrix depends on the input",
             "Both are data-controlled: attention through $Q$ and $K$, Hyena through its gates. "
             "What is fixed in Hyena are the filters, the $S_h^n$."),
            ("Both are causal and change with u, but A(u) is signed and unnormalised", None),
        ],
        "explanation": "$A(u)$ is a *surrogate attention matrix*: causal and data-controlled like "
        "$\\mathrm{softmax}(QK^\\top/\\sqrt{d} + \\text{mask})$, but built from gates and long "
        "convolutions. For a repeated token attention becomes a uniform average ($P_{ts} = "
        "1/(t+1)$) and Hyena a plain convolution.",
    },
    {
        "section": "Sec. 3.2, 3.4",
        "prompt": "What does it cost to write $A(u)$ down, against running the recurrence (order "
        "$N$, $D$ channels, length $L$)?",
        "options": [
            ("Both are O(N D L log L): A(u) is made of FFT-friendly factors",
             "The factors are; their product is not Toeplitz (the gates break it). Applying a "
             "given $A(u)$ is a dense O($D L^2$) mat-vec, and storing it takes $D L^2$ numbers."),
            ("Writing A(u) down is cheaper at every length: one matrix instead of many FFTs",
             "Counted ($D = 8$, order 2), building $A(u)$ is 6x the operator's work at $L = 64$ "
             "and 389x at $L = 512$; even a given $A(u)$ is cheaper to apply only up to $L = "
             "1024$."),
            ("The recurrence is O(L^2) too, since each step reads every past position",
             "Each step is an FFT convolution, O($L \\log L$) per channel, plus an O($L$) gate: "
             "the FFT reads every past position without a quadratic cost."),
            ("A(u) takes O(D L^2) memory; the recurrence runs in O(N D L log L) without it", None),
        ],
        "explanation": "Per channel $A(u)$ has $L^2$ entries, half of them zero: $D L^2$ numbers, "
        "as an attention matrix takes $L^2$ per head. The recurrence keeps $(2N + 1) D L$ numbers "
        "and applies its $2N$ factors one at a time: $N$ FFT convolutions and $N$ gates. Building "
        "$A(u)$ the way the handbook does, by dense products, costs $O(N D L^3)$ work.",
    },
    {
        "section": "Sec. 3.2 (chapter 2, Section 8)",
        "prompt": "Chapter 2's demo operator has $D = 8$ channels. How many GiB would its $A(u)$ "
        "take in float32 at $L = 16{,}384$?",
        "value": 8,
        "tolerance": 0.05,
        "unit": "GiB",
        "traps": [
            (1, "That is one channel's $L \\times L$ matrix; $A(u)$ holds one per channel, $D = "
             "8$ of them."),
            (4, "Only the lower triangle is nonzero, but $A(u)$ as a tensor stores all $L^2$ "
             "entries of every channel."),
            (16, "That is float64, 8 bytes per entry; the question asks float32, 4 bytes."),
        ],
        "hint": "$A(u)$ holds one $L \\times L$ matrix per channel: count the entries, times 4 "
        "bytes; 1 GiB is $2^{30}$ bytes.",
        "explanation": "8 channels $\\times$ 16,384$^2$ entries $\\times$ 4 bytes $= 2^{33}$ bytes "
        "= 8 GiB, for a sequence that the recurrence runs with $(2N + 1) D L$ numbers (2.5 MiB at "
        "order 2).",
    },
]
# fmt: on
