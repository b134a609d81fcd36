"""Quiz questions of chapters 3 (implicit filters) and 4 (associative recall): data only, in the
format described in :mod:`.questions`. Every number quoted here is printed or asserted by the
chapter, counted by the package or read from its records; ``tests/test_quiz.py`` recomputes
them."""

# (text, feedback) pairs read better two lines per option than one item per line
# fmt: off
CHAPTER_3 = [
    {
        "section": "Sec. 3.3, eq. 7; App. D.3",
        "prompt": "Hyena's implicit filter is $h_t = \\mathrm{Window}(t) \\cdot "
        "\\mathrm{FFN}(\\mathrm{PE}(t))$. What does the FFN read?",
        "options": [
            ("The input sequence at position t, after its projection",
             "Then the filter would depend on the data. In Hyena the data enters through the "
             "gates only; the FFN reads features of the position, so the filters are the same for "
             "every input (chapter 2 checks it)."),
            ("Features of the position only: t and K complex exponentials of t", None),
            ("The previous tap h_(t-1), as in a linear recurrence",
             "That is how an SSM could produce its kernel step by step. The implicit filter "
             "evaluates every position independently from its features, all $L$ at once."),
            ("The gate x^n of the same step, to make the filter data-controlled",
             "The gates multiply the *output* of the convolution; the filter never sees them, "
             "which is why $S_h^n$ is the same for every input."),
        ],
        "explanation": "$\\mathrm{PE}(t) = [t_n, \\mathrm{Re}\\,\\rho_0 \\dots "
        "\\mathrm{Re}\\,\\rho_{K-1}, \\mathrm{Im}\\,\\rho_0 \\dots \\mathrm{Im}\\,\\rho_{K-1}]$ "
        "with $\\rho_k(n) = e^{-i f_k 2\\pi n / L}$: `emb_dim` $= 2K + 1$ features of the "
        "position. A filter of length $L <$ `l_max` reads the first $L$ rows, so it is the same "
        "function of position whatever the input length.",
    },
    {
        "section": "Sec. 3.3; Table A.2",
        "prompt": "Which statement about the implicit filter's trainable parameters and the "
        "sequence length $L$ is accurate?",
        "options": [
            ("They grow like D L, one weight per channel and position, as explicit taps do",
             "That is the explicit filter (Conv1d in Table A.2): 4,194,304 parameters for 64 "
             "channels at $L = 2^{16}$. The implicit filter computes its taps with an FFN whose "
             "weights do not depend on $L$."),
            ("They are constant in L in every configuration, the official code included",
             "The official code also trains the positional table $z$ (`l_max` $\\times E$ "
             "entries, learning rate $10^{-5}$), as `ImplicitFilter` does by default: 12,736 + 3 "
             "$\\times$ 65,536 = 209,344 at $L = 2^{16}$. `trainable_pos_emb=False` gives the "
             "paper's count."),
            ("They grow like L log L, because the filter is evaluated at L positions",
             "Evaluating the filter is work, and that grows with $L$; parameters are what is "
             "stored and trained, and the FFN's weights are the same for every $L$."),
            ("The FFN's do not depend on L; training the positional table z adds E L more", None),
        ],
        "explanation": "The FFN has $P = (E+1)W + n(W+1)W + W + WD$ parameters: no $L$ term. "
        "Trained as a parameter, the table $z$ adds $E$ per position, and from $L$ = 8,192 on it "
        "outnumbers the FFN (64 channels, $E = 3$, $W = 64$). The FFN, which decides the shape of "
        "the filters, keeps its size.",
    },
    {
        "section": "Sec. 3.3; App. D.3 (chapter 3, Section 1)",
        "prompt": "With $D = 64$ channels, `emb_dim` $E = 3$, FFN width $W = 64$ and $n = 2$ inner "
        "layers (chapter 3's defaults), how many trainable parameters has the implicit filter's "
        "FFN, the positional table $z$ not counted?",
        "value": 12736,
        "tolerance": 0,
        "traps": [
            (209344, "That adds the positional table $z$ trained at $L = 2^{16}$ (3 $\\times$ "
             "65,536 entries); the question asks the FFN alone, which has no $L$ term."),
            (12864, "That counts a frequency vector $\\omega$ per hidden layer. The official code "
             "reuses one `Sin` module after every layer: a single vector of $W = 64$ entries."),
            (8640, "The output layer is missing: it maps the $W = 64$ hidden features to the $D = "
             "64$ channels, $W D$ = 4,096 weights (no bias)."),
            (4194304, "That is the explicit bank at $L = 2^{16}$, one tap per channel and "
             "position; the implicit filter computes its taps instead."),
        ],
        "hint": "Count layer by layer: weights and biases of the first layer and of each inner "
        "layer, the sine's learnable frequency, and the output layer (no bias).",
        "explanation": "$(E + 1)W + n(W + 1)W + W + WD$ = 256 + 8,320 + 64 + 4,096 = 12,736, "
        "whatever $L$ (`spectra.implicit_param_count`). One `Sin` module follows every hidden "
        "layer, so $\\omega$ is one vector of $W$ entries.",
    },
    {
        "section": "Sec. 3.3 (the window)",
        "prompt": "What does the default exponential decay window do to the filters?",
        "options": [
            ("It cuts every filter after a few taps, which makes the long convolution short",
             "The window decays smoothly and never cuts: the slowest channel reaches `target` "
             "($10^{-2}$) only at 150% of the sequence, and `shift` can keep a floor. The filters "
             "stay as long as the input."),
            ("It multiplies channel c by exp(-|delta_c| t): each channel its own memory length",
             None),
            ("It is learned per position and channel, like the taps of an explicit filter",
             "The decay rates $\\delta_c$ are fixed at initialisation (a buffer, not a "
             "parameter), spaced linearly between log(target)/`slow_decay_pct` and "
             "log(target)/`fast_decay_pct`. In chapter 4 the trained FFN learned to undo most of "
             "the window."),
            ("It divides each filter by its L1 norm, so that the convolution cannot amplify its "
             "input",
             "That is the `normalize=\"l1\"` option, off by default as in the official code. The "
             "window is a decay in time."),
        ],
        "explanation": "The decay rates $\\delta_c$ are spread so that the channels reach `target` "
        "between 30% and 150% of the sequence (plus an optional `shift`). Without a window the FFN "
        "output does not decay, and every past input would weigh the same. The window makes the "
        "filters local-biased (recent inputs weigh more) and gives each channel its own memory "
        "length, like the range of time scales of an SSM's eigenvalues.",
    },
    {
        "section": "App. D.3 (chapter 3, Section 3)",
        "prompt": "At initialisation, with the window switched off, what do the sine frequency "
        "$\\omega$ and the number of bands $K$ do to the spectrum of the filters, as chapter 3 "
        "measures it at $L = 128$?",
        "options": [
            ("K alone sets the cutoff frequency of the filters; omega only scales their amplitude",
             "With $\\omega = 10$ the 99% band takes all 65 bins (or all but the last) for every "
             "$K$, and more than half of the energy lies at bins $\\ge K$ for every $K < 64$: the "
             "sine frequency, not the number of bands, decides how rough the filters start."),
            ("omega = 1 gives the roughest filters and omega = 10 the smoothest, at any K",
             "Reversed. At $\\omega = 1$ the pre-activations are small, $\\sin(x) \\approx x$ and "
             "the FFN is nearly linear, so its output keeps the bands' frequencies only; $\\omega "
             "= 10$ folds its inputs many times over and creates harmonics."),
            ("The cutoff sits near bin 2K + 1, the number of features of the encoding",
             "That is how App. D.3's text puts it (\"near $2K+1$\"). Measured, the 99% band is "
             "exactly $b = K$: band $k$ makes $f_k \\approx k$ turns, the highest $K - 1$; $2K + "
             "1$ counts the encoding's features, not its frequencies."),
            ("omega = 1: low-pass, 99% of the energy in bins below K; omega = 10: all bins", None),
        ],
        "explanation": "A linear map of the features contains only their frequencies $f_0, \\dots, "
        "f_{K-1}$, bins below $K$; the sine at $\\omega = 10$ creates harmonics at every "
        "frequency. The official recall configuration uses $K = 2$ (`emb_dim` 5) with $\\omega = "
        "10$.",
    },
    {
        "section": "Sec. 2.1, 3.1 (S4 -> H3 -> Hyena)",
        "prompt": "Why can a state-space model such as S4D serve as a long-convolution filter?",
        "options": [
            ("Because its recurrence depends on the input, like a gate",
             "S4D is linear and time-invariant: $\\bar A$, $\\bar B$, $C$ are the same at every "
             "step and for every input. That is what makes it a convolution; the data dependence "
             "of H3 and Hyena comes from their gates."),
            ("Because its kernel is band-limited, like an FNO filter",
             "The frequency (FNO) filter is band-limited and periodic, and it does not decay. An "
             "S4D kernel is a sum of damped complex exponentials: decaying, with a few "
             "resonances."),
            ("It cannot: a recurrence has no convolution form, which is why Hyena dropped SSMs",
             "Every linear time-invariant SSM has both forms; chapter 3 checks that the "
             "recurrence and `fftconv` with the kernel agree to a few $10^{-15}$ in float64. What "
             "the SSM pays for its few parameters is a restricted family of filters."),
            ("A linear time-invariant SSM is a causal convolution with its impulse response", None),
        ],
        "explanation": "$x_t = \\bar A x_{t-1} + \\bar B u_t$ with $x_{-1} = 0$ unrolls to $x_t = "
        "\\sum_{s \\le t} \\bar A^{t-s} \\bar B u_s$, so $y_t = 2\\,\\mathrm{Re}(C x_t)$ convolves "
        "$u$ with $K_j = 2\\,\\mathrm{Re}(C \\bar A^j \\bar B)$. S4 computes $K$ in closed form "
        "and convolves by FFT; H3 gates two such convolutions; Hyena swaps the SSM kernels for "
        "implicit filters.",
    },
    {
        "section": "Sec. 4.1, Table A.2",
        "prompt": "Table A.2 puts each filter parameterisation inside the same order-2 Hyena and "
        "trains associative recall at 131K tokens (vocabulary 30). What does it report?",
        "options": [
            ("Implicit filter 97.2%; SSM 0.6%, FNO 0.3% and Conv1d 0.5%", None),
            ("All about 97%: once the gates are there, the filter family does not matter",
             "Only the implicit filter reached 97.2%; the SSM, FNO and Conv1d filters stayed "
             "below 1%, under the 7% of a blind guess among 14 values. Gates are necessary, not "
             "sufficient."),
            ("Free Conv1d taps won, having by far the most parameters",
             "Conv1d scored 0.5%. The number of parameters is not the point (explicit taps grow "
             "with $L$: 4,194,304 for 64 channels at $L = 2^{16}$, against 12,736 for the FFN); "
             "the family of filters is."),
            ("The SSM won: damped exponentials make the ideal long memory",
             "The SSM (H3's filters) scored 0.6%: its restricted family, sums of damped "
             "exponentials, is one reason why it fails at this length."),
        ],
        "explanation": "Table A.2: Hyena 97.2, CKConv 14.3, TransferFunc 0.5, H3 0.6, FNO 0.3, "
        "Conv1d 0.5 (`filters.PAPER_TABLE_A2`). A fixed parameter count is not free: the SSM and "
        "frequency filters pay for it with a restricted family of filters.",
    },
]

CHAPTER_4 = [
    {
        "section": "Sec. 4.1, Table 4.1",
        "prompt": "In associative recall, why can a model not store the answers in its weights?",
        "options": [
            ("Because the vocabulary is too large to memorise all pairs",
             "The vocabularies are tiny (10 to 40 tokens). Memorising fails because the key-value "
             "mapping changes from one sequence to the next."),
            ("Each sequence draws a fresh random dictionary of keys and values", None),
            ("Because keys never repeat, so no pair is seen twice in training",
             "Keys are drawn at random and may repeat, always with their one value. What rules "
             "memorising out is that the dictionary is new in every sequence."),
            ("Because the test sequences are longer than the training ones",
             "Train and test sequences have the same length and format; they are drawn from the "
             "same distribution with independent seeds."),
        ],
        "explanation": "$k_1 f(k_1) \\dots k_P f(k_P)$ `=>` $q \\to f(q)$, with $f$ drawn anew for "
        "every sequence: the answer, the value written right after an earlier occurrence of $q$, "
        "has to be looked up in the context.",
    },
    {
        "section": "Sec. 3.2, 4.1",
        "prompt": "Why can an *ungated* long convolution $y = S_h v$ not solve recall, whatever "
        "its filter?",
        "options": [
            ("Its filter is too short to reach back from the query to the pairs",
             "Its explicit filter is as long as the input: reach is not the problem. In the grid "
             "the convolution sits on the most-frequent-value level at every length from 64 to "
             "512."),
            ("It has too few parameters; a wider model would learn the lookup",
             "Width adds channels of the same kind, each applying one fixed filter. Without data "
             "control no filter can point at a position that moves with the data."),
            ("Its matrix is the same for every input; where to read is not", None),
            ("Its FFT adds too much round-off to tell the values apart in float32",
             "Round-off is about $10^{-6}$ relative in float32, far below the differences between "
             "token embeddings. The failure is structural: the matrix does not depend on the "
             "input."),
        ],
        "explanation": "Output $t$ always weighs position $t - s$ by $h_s$, but the position to "
        "read from (right after the query key) changes from sequence to sequence, so no fixed "
        "filter can point at it. An operator must let its weights depend on the data, as attention "
        "does with $\\mathrm{softmax}(QK^\\top)$ and Hyena with its gates $D_x$. The ungated "
        "convolution is the one mixer of chapter 4 whose $A$ is not data-controlled.",
    },
    {
        "section": "Sec. 4.1 (chapter 4, Section 1)",
        "prompt": "The ungated convolution ends well above chance on recall. What has it learned?",
        "options": [
            ("A partial lookup, which works when the query is close to its key",
             "Its query row looks the same for every example: a fixed filter cannot look anything "
             "up. Its accuracy matches that of answering the context's most frequent value, "
             "within 5 points in every cell of the grid."),
            ("It memorised the key-value pairs of the training dictionaries",
             "Every sequence has a fresh dictionary, and test sequences are drawn independently: "
             "there is nothing to memorise."),
            ("Nothing: accuracy above chance is noise on 1,000 test sequences",
             "The binomial standard error on 1,000 sequences is at most 1.6 points; 19% against "
             "7% is far beyond it, and the level is matched in every cell."),
            ("To answer the context's most frequent value: counting, no lookup", None),
        ],
        "explanation": "Answering the most frequent value gets about 19% at vocabulary 30, where "
        "chance is 7%. The query key's value tends to be frequent (a frequent value is the value "
        "of many keys, or of a key that occurs often), so counting beats chance without any "
        "lookup. It is what a mixer without data control can still learn, and the level both "
        "trained models pass through first.",
    },
    {
        "section": "Sec. 4.1; App. A.1 (the official data format)",
        "prompt": "In the official format the two special tokens count inside `vocab_size`, and "
        "the other ids are split in half into keys and values. At vocabulary 30, what is the "
        "accuracy of a blind guess among the values, in percent?",
        "value": 7.142857,
        "tolerance": 0.05,
        "unit": "%",
        "traps": [
            (3.333, "That guesses among the whole vocabulary of 30; the answer is always a value, "
             "and there are only 14 of them."),
            (6.667, "The two special tokens count inside `vocab_size`: (30 - 2) / 2 = 14 values, "
             "not 15."),
            (3.571, "That guesses among keys and values (28 ids); the answer is always a value, "
             "so a guess among the 14 values does better."),
        ],
        "hint": "Remove the special tokens from the vocabulary, split the rest in half, and guess "
        "uniformly among the values.",
        "explanation": "30 = 2 special tokens + 14 keys + 14 values, and the answer is a value: "
        "1/14 = 7.1%. Answering the most frequent value gets about 19% at this vocabulary.",
    },
    {
        "section": "Sec. 3.1, Remark 3.2; Sec. 4.1 (chapter 4, Section 2)",
        "prompt": "Chapter 4 trains the mixers `hyena`, `h3`, `h3_same`, `attention` and `conv`. "
        "Which pair differs **only** in the filter family?",
        "options": [
            ("hyena vs h3",
             "That changes two things at once: the filter family (implicit against S4D) and the "
             "depth (one long convolution against two). The recorded grid was first made with "
             "this pair."),
            ("h3_same vs h3",
             "Both use S4D filters: this pair isolates the depth of the recurrence, one long "
             "convolution or two."),
            ("hyena vs conv",
             "`conv` drops the gates, and with them data control, and uses explicit taps: two "
             "differences, of which data control is by far the larger."),
            ("hyena vs h3_same", None),
            ("attention vs h3_same",
             "Attention has no long convolution at all: $\\mathrm{softmax}(QK^\\top)$ takes the "
             "place of gates and filters, and it needs position embeddings."),
        ],
        "explanation": "`hyena` and `h3_same` share the projections, the short convolution, the "
        "gates and one long convolution ($D_{x^2} S_h D_{x^1}$); only the filter differs, an "
        "implicit FFN filter against S4D. At vocabulary 30 the filter family is worth 41 points, "
        "the depth 5.",
    },
    {
        "section": "Sec. 3.2; App. D.1 (chapter 4, Section 5)",
        "prompt": "In the trained Hyena (official layout, $A_c[t, s] = x^2_c[t]\\, h_c[t - s]\\, "
        "x^1_c[s]$), how does layer 1 look the query up?",
        "options": [
            ("Gates match the query with the key that the short convolution moves next to each "
             "value",
             None),
            ("One long filter learns to be a delay that points from the query back to the answer's "
             "position",
             "No trained filter is a delay: the strongest single tap holds less than a quarter of "
             "a filter's weight. A delay could not work anyway: the key sits at a different "
             "distance in every sequence."),
            ("A softmax over the positions, as in attention, selects the one matching value",
             "Hyena has no softmax. Its lookup is soft: the query row weighs the query key's "
             "values 2-3x more than other values, where attention's induction head reaches over "
             "1,000x."),
            ("The MLP memorises which value belongs to which key, the gates only route",
             "The dictionary is fresh in every sequence, so there is nothing to memorise; the MLP "
             "and the head read the answer off the mixture that the gates put together."),
        ],
        "explanation": "The 3-tap short convolution lets $x^1$ and $v$ at a value position see the "
        "key before it. $x^2_c[t]$ at the query and $x^1_c[s]$ next to each value are projections "
        "of the input; their product, summed over channels by $W_\\text{out}$, is a bilinear match "
        "between query and key: a content-based lookup made of gates, with the long filter "
        "deciding how far back it reaches.",
    },
    {
        "section": "Sec. 4.1, Tables 4.2 and C.1",
        "prompt": "What did chapter 4's tiny-scale grid (lengths 64-512, vocabularies 10, 20 and "
        "30, 1,500 steps per run) reproduce of the paper?",
        "options": [
            ("The length axis of Table 4.2: H3 collapsing as the sequences grow longer",
             "Up to 512 tokens the S4D filters still reach far enough back, and longer sequences "
             "give more recall events per step: at vocabulary 30 Hyena's and H3's accuracy *grew* "
             "with length. Table 4.2's 30K-131K axis needs far longer sequences."),
            ("The ordering of the mixers along the vocabulary axis of Table C.1", None),
            ("That the vocabulary size makes no difference to any mixer",
             "The gap opens with the vocabulary: at 10 and 20, Hyena and H3 reach 95% or more "
             "from length 128 on; at 30 they separate, as in Table C.1 (H3 92 / 60 / 13 / 10 "
             "against Hyena 100 / 100 / 98 / 85)."),
            ("That attention fails at vocabulary 30 at every length",
             "Not all or nothing: attention's four runs at vocabulary 30, lengths 256-512, ended "
             "at 94%, 78%, 21% and 21%; averaged over the lengths it reached 74%, second to "
             "Hyena."),
        ],
        "explanation": "At vocabulary 30, averaged over the lengths: Hyena 89% > attention 74% > "
        "H3 43% > convolution 20%, the order of Table C.1 (Hyena 98 > Transformer 92 > H3 13 > "
        "Conv1d 10), at tiny scale. What the grid does not reproduce is the length axis of Table "
        "4.2.",
    },
]
# fmt: on
