"""Quiz questions of chapters 5 (GPU kernels), 7 (a Hyena language model and its recurrent
view) and 8 (multi-query recall): data only, in the format described in :mod:`.questions`.
Every number quoted here is asserted by the chapter on its committed records, counted by the
package or published with the paper (``hyena_lab.paper``); ``tests/test_quiz.py`` recomputes
them."""

# (text, feedback) pairs read better two lines per option than one item per line
# fmt: off
CHAPTER_5 = [
    {
        "section": "Sec. 4.4 (chapter 5, Section 1)",
        "prompt": "Fix the number of tokens per batch, $T = BL$, and the width $d$. How does the "
        "work of the mixing step grow with the sequence length $L$?",
        "options": [
            ("Both stay constant, since the number of tokens is fixed",
             "The tokens are fixed, but attention's $QK^\\top$ and $PV$ compare each token with "
             "up to $L$ others, $2TLd$ FLOP: linear in $L$. The FFTs add a $\\log_2(2L)$ factor."),
            ("Attention's grows linearly in L, Hyena's logarithmically", None),
            ("Attention's grows quadratically in L, Hyena's linearly",
             "Per *sequence*, attention is O($L^2$) and the FFT convolution O($L \\log L$). At a "
             "fixed number of tokens the batch shrinks as $L$ grows, which takes one factor $L$ "
             "off both: linear against logarithmic."),
            ("Hyena's grows linearly in L, attention's logarithmically",
             "Reversed: attention compares each token with every earlier one ($\\propto L$ per "
             "token), the FFT convolution costs $\\propto \\log L$ per token."),
        ],
        "explanation": "$F_\\text{attn} \\approx 8Td^2 + 2TLd$ and $F_\\text{Hyena} \\approx "
        "2(N+2)Td^2 + N T d \\cdot c \\log_2(2L)$, $c \\approx 10$. Counted in FLOPs, Hyena is "
        "cheaper from $L \\approx 84$ on ($d = 768$, 12 heads, $2^{18}$ tokens) and needs 21x "
        "fewer at 64K.",
    },
    {
        "section": "Sec. 4.4 (chapter 5, Sections 1 and 4)",
        "prompt": "Counted in FLOPs, Hyena is cheaper than attention from $L \\approx 84$ on. Why "
        "does the measured crossover on the H100 lie far later?",
        "options": [
            ("Attention runs on tensor cores; the FFTs on fp32 units, and they wait on memory",
             None),
            ("The FLOP count of an FFT is wrong by a large factor on GPUs",
             "The count ($2.5\\, n \\log_2 n$ per real FFT) is fine. What differs is the rate at "
             "which each kind of FLOP runs, and the bytes the implementation moves."),
            ("The attention kernel skips the masked half of the work, which the count leaves out",
             "The count already takes the mask into account: `roofline.attention_cost` counts "
             "$L(L + 1)/2$ query-key pairs when causal."),
            ("Hyena runs out of GPU memory long before attention does",
             "The Hyena operator's forward fits up to 1M tokens (45 GiB); memory does not decide "
             "the crossover. The rate of each kind of FLOP, and the bytes moved, do."),
        ],
        "explanation": "Attention's FLOPs are matrix products on tensor cores (791 TFLOP/s "
        "measured in bf16), the FFT's run on the fp32 units (51 TFLOP/s) and are bound by memory "
        "bandwidth anyway. The roofline turns each part into a floor $\\max(F/P, Q/B)$. With a "
        "fused FFT convolution the model puts the layer crossover near 3.8K; with the 22x bytes of "
        "PyTorch's unfused `fftconv`, near 26K. Measured: 54K for the layer, 10K for the kernel "
        "(forward).",
    },
    {
        "section": "Sec. 4.4 (chapter 5, Section 4)",
        "prompt": "Why can an FFT convolution not keep the H100's tensor cores busy, whatever its "
        "implementation?",
        "options": [
            ("Its memory grows as L^2, like the naive attention's score matrix",
             "Its memory is O($T$): it computes in float32 on sequences padded to $2L$ (16x its "
             "bf16 input), hungry but linear. $L^2$ memory is the naive attention's ($B H L^2$ "
             "scores)."),
            ("It can: its arithmetic intensity lies above the tensor-core ridge point",
             "Reversed: 29-54 FLOP/byte is far below the tensor-core ridge of about 270. Only on "
             "the fp32 units (ridge about 17) would a perfectly fused FFT convolution be "
             "compute-bound."),
            ("Its arithmetic intensity lies 5-10x below the tensor-core ridge point", None),
            ("FFTs cannot run in bf16, so every element takes 4 times the bytes",
             "Casts to float32 add bytes to the *unfused* implementation, but even the minimal "
             "bytes, $(2BdL + dL) \\cdot 2$ in bf16, give an intensity far below the ridge."),
        ],
        "explanation": "Its intensity, about $2.5 \\log_2(2L)$ = 29 to 54 FLOP/byte for $L$ = 1K "
        "to 1M, lies 5-10x below the ridge point $P/B$ of about 270 FLOP/byte. $F \\approx Bd "
        "\\cdot 5 \\cdot 2L \\log_2 2L$ against at least $(2BdL + dL) \\cdot 2$ bytes: the "
        "intensity grows only like $\\log L$. This is the argument of FlashFFTConv, which computes "
        "the FFT *as* matrix products to reach the tensor cores.",
    },
    {
        "section": "Sec. 4.4 (chapter 5, Section 4)",
        "prompt": "PyTorch's `fftconv` of bf16 inputs launches one kernel per step: cast to "
        "float32, zero-pad to $2L$, forward FFT, spectral product, a copy of the spectrum, inverse "
        "FFT, slice and cast back. If each kernel reads its inputs and writes its output once, how "
        "many bytes move per element of $u$ (the filter's share not counted), as chapter 5 counts "
        "them?",
        "value": 88,
        "tolerance": 0,
        "unit": "bytes",
        "traps": [
            (4, "That is the fused minimum: read $u$ and write $y$ once, 2 + 2 bytes in bf16. The "
             "unfused kernels stream the data through memory at every step."),
            (22, "That is the ratio to the fused minimum (88 / 4); the question asks the bytes "
             "per element."),
        ],
        "hint": "Follow one element of $u$ through the kernels: bf16 is 2 bytes, float32 4, a "
        "padded sequence has $2L$ entries, a complex64 bin 8 bytes; add what each kernel reads and "
        "writes (`roofline.fftconv_unfused_bytes`).",
        "explanation": "(2 + 4) cast + 12 pad + 16 FFT + 16 product + 16 copy + 16 inverse FFT + "
        "(4 + 2) slice and cast = 88 bytes, 22x the fused minimum of 4. At 1K those bytes alone "
        "take 6.1 ms at full copy bandwidth; measured, 8.4 ms.",
    },
    {
        "section": "Abstract; Sec. 4.4, Fig. 4.3",
        "prompt": "The abstract says Hyena is twice as fast as highly optimised attention at 8K "
        "and 100x faster at 64K. What do the published forward times behind Figure 4.3 (A100, "
        "batch 64) give for Hyena against FlashAttention?",
        "options": [
            ("2x at 8K and 100x at 64K, as in the abstract",
             "Those are the abstract's numbers, not the figure's: no pair of series in the "
             "figure's data gives 100x (safari issue #10 asks the same question)."),
            ("100x, but against standard attention at 64K",
             "Standard attention has no 64K point in the figure's data; extrapolated with its "
             "$L^2$ growth it would be $4 \\cdot 90.71 / 11.32 \\approx 32$x, not 100x."),
            ("1.4x at 8K and 11.4x at 64K", None),
            ("Hyena is slower at 8K: 0.26x",
             "0.26x is chapter 5's own H100 measurement at the layer level (forward), not the "
             "paper's figure; in the figure's data Hyena is 1.4x faster at 8K."),
        ],
        "explanation": "The largest ratio anywhere in the figure is 16.8x (standard attention at "
        "32K). `paper.PAPER_FIGURE_4_3_MS` keeps the times the authors published (safari issue "
        "#10). Their speedup roughly doubles per doubling of $L$, as in chapter 5's measurements. "
        "The official fused kernel handles sequences up to 8K only, so the 16K-64K points were "
        "measured without it.",
    },
    {
        "section": "Sec. 4.4, Fig. 4.3 (chapter 5, Section 3)",
        "prompt": "On the recorded H100 sweep (bf16, $d = 768$, 12 heads, $2^{18}$ tokens per "
        "batch), where does the order-2 Hyena operator overtake the attention layer in the forward "
        "pass?",
        "options": [
            ("Near 6K, as the authors' blog says",
             "The blog's ~6K is FlashAttention on an A100. The roofline model with a *fused* FFT "
             "convolution puts the layer crossover at 3.8K, but the measured, unfused operator "
             "crosses at 54K."),
            ("At 8K, where it is 2x faster",
             "At 8K the Hyena operator runs at 0.26x the attention layer's speed, 4x slower; \"2x "
             "at 8K\" is the abstract's claim."),
            ("Never: attention is faster at every measured length",
             "Beyond the crossover Hyena's lead keeps growing: 3.7x at 256K, and at 512K the "
             "attention layer takes 1.06 s per call against 0.15 s."),
            ("At about 54K tokens", None),
        ],
        "explanation": "The operator crosses at about 54K tokens forward (39K forward+backward), "
        "while `fftconv` alone overtakes the best attention kernel (cuDNN) at 10K. The speedup "
        "grows by 1.6x to 2x per doubling of $L$ on every curve: the slope of the paper's claim "
        "holds, its offset does not. Where Hyena wins is a question of kernels, not of "
        "asymptotics.",
    },
    {
        "section": "Sec. 4.4, Fig. 4.3 (chapter 5, Section 5)",
        "prompt": "Chapter 5's layer-level speedups sit 5-10x toward attention compared with "
        "Figure 4.3's data. Which reason does it weigh most?",
        "options": [
            ("The H100's memory bandwidth grew more than its matrix rate, which favoured attention",
             "The other way round: from the A100 to the H100 the datasheet matrix rate grew 3.2x, "
             "the bandwidth 1.6x. That favours compute-bound attention over memory-bound FFTs "
             "(the second reason), but the unfused operator weighs most."),
            ("The unfused operator: casts, copies, gates and the short convolution dominate its "
             "time",
             None),
            ("The paper fixed the batch at 64, the chapter fixes 2^18 tokens, and that changes the "
             "ratios a lot",
             "Both layers scale linearly with the batch, so the ratio at one $L$ hardly depends "
             "on it while the GPU is full: the smallest of the four reasons."),
            ("The paper used its fused FFT kernel at every length, the chapter did not",
             "The official fused kernel supports FFT sizes up to 16384, sequences up to 8K, and "
             "the authors say the figure was not measured with it: its long-length points came "
             "from an unfused FFT convolution, like the chapter's."),
        ],
        "explanation": "By weight: the unfused operator (80% of its time outside the FFTs; the FFT "
        "convolution itself moves 22x its minimal bytes), then attention getting faster on a GPU "
        "whose tensor cores grew more than its bandwidth, then what is compared, then the setup.",
    },
    {
        "section": "Sec. 4.4 (chapter 5, Section 2)",
        "prompt": "Why does `bench.time_call` time GPU code with CUDA events instead of a host "
        "clock around `y = f(x)`?",
        "options": [
            ("The host clock's resolution is too coarse for milliseconds",
             "`time.perf_counter` resolves well below a microsecond. The problem is *what* it "
             "measures: `f` returns as soon as its kernels are queued."),
            ("CUDA events leave the warm-up calls out of the timing by themselves",
             "Warm-up is separate: calls run before the timed ones, so that cuFFT plans, cuDNN "
             "graphs and the first `cudaMalloc` stay out of the numbers."),
            ("CUDA events measure the memory traffic as well as the time",
             "An event records a timestamp on the GPU's stream, nothing more; the bytes come from "
             "the roofline model (`hyena_lab.roofline`)."),
            ("GPU work is asynchronous: a host clock would time the launch", None),
        ],
        "explanation": "Events recorded before and after each call give the elapsed *device* time. "
        "`time_call` also warms up, reports the median of many calls, rotates non-zero inputs so "
        "that none stays warm in L2 cache, and falls back to `perf_counter` on a CPU.",
    },
]

CHAPTER_7 = [
    {
        "section": "Sec. 4.2 (chapter 7, Section 2)",
        "prompt": "Chapter 7's GPT and Hyena LM are \"of one size\". What differs between them?",
        "options": [
            ("Hyena has fewer blocks than the GPT, to match the parameter count",
             "Both have 4 pre-LayerNorm blocks of width 128 with an MLP of width 512. The counts "
             "are matched by the width of Hyena's filter network (32 instead of the official 64): "
             "843,713 against 818,241 parameters."),
            ("Only the mixer, attention or the order-2 Hyena operator", None),
            ("Hyena needs a learned position embedding, like the GPT's",
             "Only the GPT adds one. Hyena's implicit filters are functions of position (chapter "
             "3), so the operator knows positions without it."),
            ("Hyena gets its own training recipe, with a higher learning rate",
             "Both use one recipe (`LM_RECIPE`): AdamW at peak $6 \\cdot 10^{-3}$, a warm-up and "
             "a cosine over the time budget, chosen by a sweep for both models."),
        ],
        "explanation": "The GPT mixes with causal attention (4 heads) and adds a learned position "
        "embedding; the Hyena LM puts the order-2 operator in its place and needs no positions. "
        "Same data, same blocks, same recipe: attention is swapped for Hyena and nothing else, "
        "within 5% in parameters (843,713 against 818,241).",
    },
    {
        "section": "Sec. 4.2 (chapter 7, Section 3)",
        "prompt": "In the recorded comparison (2 CPU cores, 3 seeds, a 60-second budget each), "
        "which statement is right?",
        "options": [
            ("Hyena won because it took more steps in the 60 s",
             "It took fewer: 783 steps against the GPT's 1,088 on average. A Hyena step is slower "
             "at context 64, but it learns more."),
            ("The GPT won at 60 s; Hyena caught up only at 300 s",
             "Reversed: Hyena led at 60 s (1.64 against 1.77 nats per character); at 300 s the "
             "gap shrank (1.52 against 1.54)."),
            ("Both reached the same loss: the mixer makes no difference at this scale",
             "1.64 against 1.77 at 60 s is far outside the spread of the seeds (Hyena 1.62-1.65). "
             "At 300 s the two are close (1.52 and 1.54), and three seeds do not say whether the "
             "gap closes."),
            ("Hyena reached a lower loss (1.64 against 1.77) in fewer steps", None),
        ],
        "explanation": "On a CPU the fair budget is wall-clock time on the same cores, one run "
        "after the other. Each Hyena step learns more; the gap between the models shrinks as the "
        "budget grows.",
    },
    {
        "section": "Sec. 4.2, 4.4 (chapter 7, Section 3)",
        "prompt": "How does the time of one training step compare between the two models as the "
        "context grows from 64 to 2,048 characters (`hyena-lab lm-step-time`, on a CPU)?",
        "options": [
            ("The GPT is cheaper at 64, they are even near 256-512, Hyena wins at 2,048", None),
            ("Hyena's step is cheaper at every context, from 64 to 2,048",
             "At context 64 a Hyena step costs more: its FFT convolutions and filter network are "
             "heavier than attention over 64 positions (GPT / Hyena = 0.68)."),
            ("The GPT's step is cheaper at every context, since attention is cheap on a CPU",
             "Attention's cost grows as $L^2$, Hyena's as $L \\log L$, and on a CPU it shows from "
             "a few hundred characters on: at 2,048 a GPT step costs 1.46 Hyena steps."),
            ("Both grow in proportion to the context, so their ratio stays the same",
             "The ratio moves from 0.68 at 64 to 1.46 at 2,048: attention's $L^2$ term grows "
             "faster than Hyena's $L \\log L$."),
        ],
        "explanation": "A GPT step costs 0.68 of a Hyena step at context 64 and 1.46 at 2,048: "
        "attention's $L^2$ against Hyena's $L \\log L$. One training step (8 windows, forward, "
        "backward and AdamW) was timed for both models at contexts 64 to 2,048, in interleaved "
        "rounds on 2 threads.",
    },
    {
        "section": "Abstract; Sec. 4.2",
        "prompt": "The paper reports Transformer quality with about 20% less training compute. "
        "What does chapter 7's result say about that claim?",
        "options": [
            ("It confirms it: Hyena's lower loss at equal time is the 20%",
             "The 20% is a saving in FLOPs at context 2,048 with 125M-355M models, where "
             "attention's $L^2$ term is a large share of the compute. At context 64 that term is "
             "tiny, and a Hyena step is *slower* on a CPU."),
            ("Nothing: the saving is attention's L^2 term at context 2,048, tiny at 64", None),
            ("It confirms it once nats per character are converted to perplexity per token",
             "Characters are not sub-words: Tiny Shakespeare's losses per character cannot be "
             "compared with perplexities per token of The Pile."),
            ("It refutes it, since the claim is about 20% fewer parameters",
             "The claim is about training compute (3.93e19 against 4.77e19 FLOPs for 15B tokens, "
             "18% fewer), not parameters; chapter 7's two models have the same size."),
        ],
        "explanation": "The architecture carries over (the same blocks, attention swapped for "
        "Hyena); the claim does not transfer by itself. The models are far smaller, characters are "
        "not sub-words, and at this scale tuning moves each model by more than the gap.",
    },
    {
        "section": "Sec. 3.1 (chapter 7, Section 4)",
        "prompt": "A Hyena LM generates one more character at context $L$ with its trained long "
        "filters, caching the inputs $z_s$ of every long convolution (way (b)). What does that "
        "character cost, per channel and convolution?",
        "options": [
            ("O(1), like the step of a recurrent network",
             "Only a recurrent form gives O(1): the modal way (c). With the trained filter, $y_t "
             "= \\sum_{s \\le t} h_{t-s} z_s$ needs every past input."),
            ("O(L log L): one FFT convolution for every new character",
             "That is recomputing the whole prefix, way (a). With the past inputs cached, only "
             "the new output is needed: one dot product."),
            ("O(L): a dot product of the filter with the cached inputs", None),
            ("O(L^2), like attention that keeps no cache of keys and values",
             "Nothing quadratic is needed per character: the new output sums $L$ products. (With "
             "a KV cache, attention is O($L$) per character too.)"),
        ],
        "explanation": "Measured from 256 to 16,384 characters of context, the time per character "
        "grew 89x for recompute, 15x for the input cache and 4.7x for the GPT's KV cache, and "
        "stayed flat for the modal state (1.05x).",
    },
    {
        "section": "Laughing Hyena (Massaroli et al. 2023); chapter 7, Section 4",
        "prompt": "What does the modal (recurrent) view replace each trained long filter by?",
        "options": [
            ("Its first r taps: a shorter explicit filter of the same kind",
             "Truncating would forget everything older than $r$ steps. Modes are decaying complex "
             "exponentials: $r$ states summarise the whole past."),
            ("A small SSM whose impulse response approximates the filter", None),
            ("A cache of the last r inputs of the convolution",
             "That is a sliding window, which forgets the rest. The modal state $s_t = \\lambda "
             "s_{t-1} + z_t$ keeps a decaying sum of *all* past inputs."),
            ("An attention head over the last r characters",
             "Distillation keeps the convolution: it refits its filter as a sum of $r$ modes "
             "(complex poles in conjugate pairs, so that $h$ stays real)."),
        ],
        "explanation": "$h_t \\approx \\sum_{i=1}^{r} R_i \\lambda_i^t$ (poles in conjugate "
        "pairs), stepped as $s_t = \\lambda s_{t-1} + z_t$: O($r$) per channel, whatever the "
        "context. The 300-s model distilled to $r = 2$ states per channel lost 0.0014 nats per "
        "character; from $r = 4$ on, less than 0.001.",
    },
    {
        "section": "Laughing Hyena (Massaroli et al. 2023); chapter 7, Section 5",
        "prompt": "Why does `distill.fit_modal` start from the Hankel matrix $H_{ij} = h_{i+j}$ of "
        "a trained filter?",
        "options": [
            ("Its rank counts the modes of h; its singular values rank them", None),
            ("It is the Toeplitz matrix S_h, and its eigenvalues are the poles",
             "$S_h$ is constant along its diagonals ($h_{t-s}$); the Hankel matrix along its "
             "anti-diagonals ($h_{i+j}$). Its rank, not $S_h$'s, counts the modes."),
            ("Its diagonal holds the filter's energy at each frequency",
             "That is a spectrum, like chapter 3's energy per bin. The Hankel matrix measures how "
             "many modes, damped exponentials, the filter needs."),
            ("The convolution needs it to run in O(L log L) time on a CPU",
             "The FFT does that without any Hankel matrix. Distillation uses it to choose the "
             "poles (Kung's method); the residues then come from least squares."),
        ],
        "explanation": "A filter that is a sum of $r$ modes $R_i \\lambda_i^t$ has a Hankel matrix "
        "of rank $r$, and its singular values say how fast the best rank-$r$ approximation "
        "improves with $r$ (the theory of balanced truncation); `fit_modal` takes the poles from "
        "it (Kung's method). Chapter 7's filters are short (64 taps, the training context), which "
        "makes them easy to distil; the paper's span thousands of positions.",
    },
    {
        "section": "Sec. 4.2 (chapter 7, Section 1)",
        "prompt": "Losses in chapter 7 are in nats per character. What is the loss of a uniform "
        "guess over Tiny Shakespeare's vocabulary?",
        "value": 4.174,
        "tolerance": 0.01,
        "unit": "nats",
        "traps": [
            (6.022, "That is in bits ($\\log_2 65$); the losses here are in nats, natural "
             "logarithms."),
            (3.35, "That is the unigram level: it uses how often each character occurs. A uniform "
             "guess gives every one of the 65 characters probability 1/65."),
            (65, "That is the size of the vocabulary; the loss of a uniform guess is the "
             "logarithm of it."),
        ],
        "hint": "A uniform guess gives each character of the vocabulary the same probability; the "
        "loss is the negative natural logarithm of that probability.",
        "explanation": "$\\ln 65 = 4.17$ nats per character. Knowing only how often each character "
        "occurs gives 3.35; the two trained models reach 1.5-1.8.",
    },
]

CHAPTER_8 = [
    {
        "section": "Zoology (Arora et al. 2023); Sec. 4.1",
        "prompt": "How does multi-query associative recall (MQAR) differ from chapter 4's task?",
        "options": [
            ("Only the vocabulary is larger; the task is the same",
             "The format changes: $P$ queries at power-law gaps instead of one at the end, keys "
             "distinct within a sequence, keys and values from disjoint halves of the vocabulary."),
            ("A key can have several values, and the model must return all of them",
             "Keys are distinct within a sequence and each has one value. What multiplies is the "
             "queries: every key is asked once more."),
            ("Every key is asked again, at its own place after the pairs", None),
            ("Every position is scored, as in language modelling",
             "Only the queries are scored (-100 elsewhere). The positions between them hold "
             "random tokens, or the id 0 in Zoology's Figure 2 runs."),
        ],
        "explanation": "Each key is asked once more, in random order, and every query is scored. "
        "Chapter 4's model can wait for its one query at the end and spend its whole state on one "
        "lookup; in MQAR it must answer $P$ queries at $P$ places, each with the value of a "
        "different key: whatever it keeps of the pairs must serve all of them.",
    },
    {
        "section": "Zoology (Arora et al. 2023)",
        "prompt": "`tasks.mqar(num_examples, seq_len=64, num_kv_pairs=4, vocab_size=256)`: at how "
        "many positions of each sequence is the target not -100?",
        "value": 4,
        "tolerance": 0,
        "traps": [
            (64, "Every position: that is next-token language modelling. MQAR scores only the "
             "queries."),
            (8, "The $2P = 8$ tokens of the pairs are context, not scored; each of the $P$ keys "
             "is asked once, later."),
            (1, "One query at the end is chapter 4's task; MQAR asks every key again."),
        ],
        "hint": "Which positions carry an answer that the model must produce? Count them per "
        "sequence.",
        "explanation": "Each of the $P = 4$ keys is asked exactly once after the pairs, and only "
        "those queries are scored: 4 targets per sequence. The 8 pair tokens are context; the rest "
        "is filler.",
    },
    {
        "section": "Zoology (Arora et al. 2023)",
        "prompt": "With Zoology's `power_a` $= 0.01$, where do the queries fall? (The gap $g$ "
        "after the last pair is drawn with probability $\\propto a\\,(g+1)^{a-1}$.)",
        "options": [
            ("Mostly soon after the pairs: small gaps dominate", None),
            ("Uniformly over the rest of the sequence, at any gap",
             "That is $a = 1$. With $a = 0.01$ the weight $(g + 1)^{-0.99}$ falls like $1/(g + "
             "1)$: small gaps dominate."),
            ("Mostly at the very end, as in chapter 4",
             "A small $a$ favours small gaps, right after the pairs; chapter 4's single query at "
             "the end is another task."),
            ("Before the pairs, to test memory of the future",
             "Queries always follow the pairs (at even offsets $2P + 2g$): every key-value pair "
             "has been seen before it is asked."),
        ],
        "explanation": "At $L = 64$, $P = 4$ the gap ranges over 0..27, and the expected gap of "
        "one draw is 6.2 pairs, against 13.5 for $a = 1$ (the queries of one sequence are drawn "
        "without replacement). Repeated bigrams in real text tend to follow soon after their first "
        "mention, hence the power law.",
    },
    {
        "section": "Sec. 3.2; Zoology (Arora et al. 2023)",
        "prompt": "Why must a gated convolution such as Hyena carry all $P$ associations at once "
        "to solve MQAR?",
        "options": [
            ("Its filters are too short to reach from the pairs to the later queries",
             "The long filters are as long as the input. Reach is not the limit; the capacity of "
             "the $d$ channels that must hold all the associations is."),
            ("Fixed filters carry the pairs; a gate only scales what arrives at t", None),
            ("The gate at a query position can read any earlier position directly",
             "A gate is diagonal: it multiplies what arrives at $t$ by $x_t$ and reads no other "
             "position. Reading across positions is the fixed filters' job."),
            ("It is not causal, so the answers of different queries get mixed up",
             "Hyena is causal ($A(u)$ is lower triangular, chapter 2). The difficulty is "
             "capacity, not leakage."),
        ],
        "explanation": "The filters that carry information from the pairs to a query are fixed "
        "after training, and the gate at $t$ can only scale what arrives at $t$. With one query at "
        "the end (chapter 4) the model can spend all $d$ channels on one lookup; with $P$ queries "
        "at unknown places, what arrives must hold all $P$ associations at once. Zoology finds "
        "that the width gated convolutions need for this grows with $L$.",
    },
    {
        "section": "Sec. 2.2, 3.2; App. B.2",
        "prompt": "What lets attention solve MQAR without more width as $P$ grows?",
        "options": [
            ("A fixed-size state that stores every pair",
             "That is the gated convolution's constraint. Attention keeps every key and value of "
             "the sequence and needs no fixed-size summary of them."),
            ("Delay filters that point from each query back to its key",
             "Attention has no filters, and a delay could not work: each key sits at a different "
             "distance from its query in every sequence."),
            ("Its matrix is built from fixed Toeplitz factors like Hyena's, only more of them",
             "That is Hyena's construction. Attention's matrix depends on the input in every "
             "entry, which is what it pays O($L^2$) for."),
            ("It compares each query with every key: softmax(q_t k_s^T)", None),
        ],
        "explanation": "Its $L \\times L$ matrix depends on the input in every entry, so it needs "
        "no more width as $P$ grows. The trade the Hyena paper makes on purpose: $A(u)$, built "
        "from $N$ fixed Toeplitz factors and diagonal gates, runs in O($N d L \\log L$) without "
        "being formed; attention pays O($L^2$) for a fully data-dependent matrix.",
    },
    {
        "section": "Zoology (Arora et al. 2023), Figure 2",
        "prompt": "What did Zoology find about the model width needed for MQAR?",
        "options": [
            ("Attention needs a width that grows with L; gated convolutions do not",
             "Reversed. Zoology's Figure 2 shows attention solving every length at width 64 and "
             "gated convolutions needing more width as $L$ grows. (In chapter 8's budget-limited "
             "grid attention's smallest solving width did double with $L$, which Zoology did not "
             "see.)"),
            ("Gated convolutions need a width that grows with L; attention does not", None),
            ("Width does not matter for MQAR, only the number of training steps",
             "Width is what their Figure 2 varies: at a given length, gated convolutions solve "
             "MQAR only from some width on, and that width grows with $L$."),
            ("Both need the same width at every length, so MQAR does not separate them",
             "MQAR is exactly what separates them: this kind of recall explains most of the "
             "perplexity gap between gated convolutions and attention (82% on the Pile)."),
        ],
        "explanation": "Attention solves every length at the smallest width tried (64). Zoology "
        "trains 2-layer models of width 64 to 512 at $(L, P) = (64, 4), (128, 8), (256, 16)$, four "
        "learning rates, 100,000 training sequences, and reports the best learning rate.",
    },
    {
        "section": "Zoology (Arora et al. 2023); chapter 8, Section 4",
        "prompt": "What did chapter 8's GPU grid (vocabulary 512, at most 1,200 steps or 110 s per "
        "run) show?",
        "options": [
            ("It reproduced Zoology's Figure 2: attention at width 64 for every length, Hyena's "
             "width doubling with L",
             "Not this grid: Hyena had no solving width at any length, and attention's smallest "
             "solving width doubled with $L$ (32, 64, 128). Its runs were too short; the grid "
             "with Figure 2's own settings, trained longer, reproduces Zoology's finding."),
            ("Hyena solved every length at width 256",
             "Hyena's best at $L = 64$ was 0.53 (width 256), and 0.91 when trained up to 4,000 "
             "steps; no Hyena run reached 0.99."),
            ("Attention solved L up to 256; Hyena solved no length, within its budget", None),
            ("Neither model learned anything, so the task must be broken",
             "Attention solved $L$ = 64, 128 and 256. Only at $L = 512$ (32 pairs) did neither "
             "leave chance-like accuracy (below 5%) in 110 s."),
        ],
        "explanation": "Attention solved L = 64, 128, 256 at widths 32, 64, 128; Hyena solved no "
        "length, its accuracy rising with width and falling with $L$. Attention learns this lookup "
        "abruptly (0.08, 0.61, 0.99 in its last three evaluations at $L = 256$, width 128), and "
        "its unsolved runs sat on a plateau, so longer training is the first thing to try. The "
        "ordering agrees with Zoology, the widths do not. With Figure 2's settings and about "
        "Zoology's 12,500 steps (Section 4's last grid) they do too: attention solves every length "
        "at width 64, Hyena needs width 256 at $L = 64$ and more than 512 at $L$ = 128 and 256.",
    },
    {
        "section": "Sec. 4.1; Zoology (Arora et al. 2023)",
        "prompt": "Which statement about the Hyena paper and MQAR is right?",
        "options": [
            ("The Hyena paper shows Hyena solving MQAR at width 64, as well as attention does",
             "The Hyena paper tests associative recall with a single query (chapter 4), where "
             "Hyena matches attention; it does not test MQAR."),
            ("Zoology found MQAR unrelated to the quality of language models",
             "The opposite: this kind of recall explains most of the perplexity gap between gated "
             "convolutions and attention on real text (82% of it on the Pile)."),
            ("MQAR is the paper's Table 4.2, run at longer sequences",
             "Table 4.2 is single-query recall at 30K-131K tokens and vocabulary 30. MQAR asks "
             "many queries per sequence."),
            ("The paper tests single-query recall; MQAR is a later test, by Zoology", None),
        ],
        "explanation": "A handbook that teaches a paper honestly teaches its limits too: MQAR "
        "shows where gated convolutions fall short of attention, and Zoology measured how much of "
        "the gap on real text it accounts for.",
    },
]
# fmt: on
