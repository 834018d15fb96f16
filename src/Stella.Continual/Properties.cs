[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Stella.Continual.Tests")]
